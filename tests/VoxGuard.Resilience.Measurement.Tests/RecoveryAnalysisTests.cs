using static VoxGuard.Resilience.Measurement.Tests.SyntheticTimeline;

namespace VoxGuard.Resilience.Measurement.Tests;

[TestFixture]
public sealed class RecoveryAnalysisTests
{
    [Test]
    public void An_outage_from_10_to_14_s_recovers_when_the_first_clean_window_starts()
    {
        var calls = Calls(100, S(30), start => start >= S(10) && start < S(14));

        var result = RecoveryAnalysis.Analyse(calls, S(10), window: S(1), step: S(0.1), threshold: 0.99);

        Assert.Multiple(() =>
        {
            Assert.That(result.Recovered, Is.True);
            Assert.That(result.RecoveryTime!.Value.TotalSeconds, Is.EqualTo(4.0).Within(0.11), "the window starting at 14 s is the first without failures");
            Assert.That(result.FailedCalls, Is.EqualTo(400));
            Assert.That(result.WorstWindowRatio, Is.Zero);
        });
    }

    [Test]
    public void A_service_that_comes_back_then_drops_again_recovers_only_after_the_second_drop()
    {
        var calls = Calls(100, S(40), start => (start >= S(10) && start < S(12)) || (start >= S(20) && start < S(21)));

        var result = RecoveryAnalysis.Analyse(calls, S(10), S(1), S(0.1), 0.99);

        Assert.That(result.RecoveryTime!.Value.TotalSeconds, Is.EqualTo(11.0).Within(0.11), "back and staying back: after the relapse at 20–21 s");
    }

    [Test]
    public void A_service_still_failing_at_the_end_has_not_recovered()
    {
        var calls = Calls(100, S(30), start => start >= S(10));

        var result = RecoveryAnalysis.Analyse(calls, S(10), S(1), S(0.1), 0.99);

        Assert.Multiple(() =>
        {
            Assert.That(result.Recovered, Is.False);
            Assert.That(result.RecoveryTime, Is.Null);
        });
    }

    [Test]
    public void A_fault_that_never_hurt_has_zero_recovery_time()
    {
        var calls = Calls(100, S(30), _ => false);

        var result = RecoveryAnalysis.Analyse(calls, S(10), S(1), S(0.1), 0.99);

        Assert.Multiple(() =>
        {
            Assert.That(result.Recovered, Is.True);
            Assert.That(result.RecoveryTime, Is.EqualTo(TimeSpan.Zero));
            Assert.That(result.FailedCalls, Is.Zero);
        });
    }

    [Test]
    public void Scattered_failures_below_the_threshold_do_not_count_as_an_outage()
    {
        // one failure in 200 calls: every 1 s window of 100 calls holds at most one → 99 % ≥ threshold
        var calls = Calls(100, S(30), start => Math.Round(start.TotalMilliseconds) % 2000 == 0);

        var result = RecoveryAnalysis.Analyse(calls, S(0), S(1), S(0.1), 0.99);

        Assert.That(result.RecoveryTime, Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Recovery_without_a_full_window_of_evidence_after_it_is_not_claimed()
    {
        var calls = Calls(100, S(15.5), start => start >= S(10) && start < S(15));

        var result = RecoveryAnalysis.Analyse(calls, S(10), S(1), S(0.1), 0.99);

        Assert.That(result.Recovered, Is.False, "half a second of success at the very end proves nothing");
    }

    [Test]
    public void Invalid_settings_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => RecoveryAnalysis.Analyse([], S(0), TimeSpan.Zero, S(0.1), 0.99));
            Assert.Throws<ArgumentOutOfRangeException>(() => RecoveryAnalysis.Analyse([], S(0), S(1), S(0.1), 1.5));
        });
    }
}
