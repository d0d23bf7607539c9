using static VoxGuard.Resilience.Measurement.Tests.SyntheticTimeline;

namespace VoxGuard.Resilience.Measurement.Tests;

[TestFixture]
public sealed class WriteAccountingTests
{
    [Test]
    public void Lost_unexpected_and_recovered_writes_are_told_apart_and_rpo_reaches_back_to_the_earliest_lost_ack()
    {
        WriteObservation[] attempted =
        [
            new("w1", S(9.0)), new("w2", S(9.6)), new("w3", S(9.8)), // w2, w3 never reached the replica
            new("w4", null), // its ack was lost, the write was not
            new("w5", null),
        ];
        string[] readBack = ["w1", "w4", "ghost"];

        var result = WriteAccounting.Account(attempted, readBack, faultStart: S(10));

        Assert.Multiple(() =>
        {
            Assert.That(result.Acknowledged, Is.EqualTo(3));
            Assert.That(result.Lost, Is.EqualTo(new[] { "w2", "w3" }));
            Assert.That(result.Unexpected, Is.EqualTo(new[] { "ghost" }));
            Assert.That(result.Recovered, Is.EqualTo(new[] { "w4" }));
            Assert.That(result.Rpo.TotalMilliseconds, Is.EqualTo(400).Within(0.001), "fault start − earliest lost ack");
            Assert.That(result.LostAcknowledgedUntil, Is.EqualTo(S(9.8)));
        });
    }

    [Test]
    public void Nothing_lost_means_zero_rpo()
    {
        var result = WriteAccounting.Account([new("w1", S(1)), new("w2", S(2))], ["w1", "w2"], S(5));

        Assert.Multiple(() =>
        {
            Assert.That(result.Lost, Is.Empty);
            Assert.That(result.Rpo, Is.EqualTo(TimeSpan.Zero));
            Assert.That(result.LostAcknowledgedFrom, Is.Null);
        });
    }

    [Test]
    public void Writes_lost_that_were_acknowledged_after_the_fault_began_count_as_the_span_they_cover()
    {
        // split brain: the isolated primary acknowledged writes after the partition started; all discarded later
        var result = WriteAccounting.Account([new("before", S(9)), new("split-1", S(11)), new("split-2", S(12))], ["before"], S(10));

        Assert.Multiple(() =>
        {
            Assert.That(result.Lost, Is.EqualTo(new[] { "split-1", "split-2" }));
            Assert.That(result.Rpo, Is.EqualTo(S(1)), "from the first to the last lost acknowledgement, not clamped to zero");
            Assert.That(result.LostAcknowledgedFrom, Is.EqualTo(S(11)));
        });
    }

    [Test]
    public void An_id_logged_as_attempted_and_then_acknowledged_counts_once_as_acknowledged()
    {
        var result = WriteAccounting.Account([new("w1", null), new("w1", S(3)), new("w2", S(4)), new("w2", null)], [], S(5));

        Assert.Multiple(() =>
        {
            Assert.That(result.Acknowledged, Is.EqualTo(2));
            Assert.That(result.Lost, Is.EqualTo(new[] { "w1", "w2" }));
            Assert.That(result.Rpo, Is.EqualTo(S(2)), "fault start (5 s) − earliest lost ack (3 s)");
        });
    }
}
