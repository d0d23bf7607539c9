namespace VoxGuard.Resilience.Engine.Tests;

[TestFixture]
public sealed class WriteLogTests
{
    private string _path = null!;

    [SetUp]
    public void CreatePath() => _path = Path.Combine(Path.GetTempPath(), $"voxguard-writelog-{Guid.NewGuid():N}.tsv");

    [TearDown]
    public void RemovePath() => File.Delete(_path);

    [Test]
    public void Every_event_written_is_read_back_in_order_with_its_fields()
    {
        using (var log = WriteLog.Open(_path))
        {
            log.Record(WriteOutcome.Attempted, "lagos-1", WriteStore.Postgres, "lagos");
            log.Record(WriteOutcome.Acknowledged, "lagos-1", WriteStore.Postgres, "lagos");
            log.Record(WriteOutcome.Failed, "lagos-2", WriteStore.Redis, "abuja", "READONLY You can't write\tagainst a\nread only replica.");
        }

        var entries = WriteLog.Read(_path);

        Assert.Multiple(() =>
        {
            Assert.That(entries.Select(entry => entry.Outcome), Is.EqualTo(new[] { WriteOutcome.Attempted, WriteOutcome.Acknowledged, WriteOutcome.Failed }));
            Assert.That(entries[2].Store, Is.EqualTo(WriteStore.Redis));
            Assert.That(entries[2].Target, Is.EqualTo("abuja"));
            Assert.That(entries[2].Detail, Is.EqualTo("READONLY You can't write against a read only replica."), "tabs and newlines cannot break a line");
            Assert.That(entries[1].Timestamp, Is.GreaterThanOrEqualTo(entries[0].Timestamp));
        });
    }

    [Test]
    public void A_line_cut_short_by_a_kill_is_skipped_and_the_rest_kept()
    {
        using (var log = WriteLog.Open(_path))
        {
            log.Record(WriteOutcome.Acknowledged, "lagos-1", WriteStore.Postgres, "lagos");
        }

        File.AppendAllText(_path, "Acknowledged\tlagos-2\tPostg");

        Assert.That(WriteLog.Read(_path).Select(entry => entry.Id), Is.EqualTo(new[] { "lagos-1" }));
    }

    [Test]
    public void Reopening_appends()
    {
        using (var first = WriteLog.Open(_path))
        {
            first.Record(WriteOutcome.Attempted, "a", WriteStore.Redis, "lagos");
        }

        using (var second = WriteLog.Open(_path))
        {
            second.Record(WriteOutcome.Attempted, "b", WriteStore.Redis, "lagos");
        }

        Assert.That(WriteLog.Read(_path).Select(entry => entry.Id), Is.EqualTo(new[] { "a", "b" }));
    }

    [TestCase("Acknowledged\tx\tPostgres\tlagos\tnot-a-number\t")]
    [TestCase("Lost\tx\tPostgres\tlagos\t1\t")]
    [TestCase("Acknowledged\tx\tMongo\tlagos\t1\t")]
    [TestCase("Acknowledged\tx\tPostgres")]
    public void A_malformed_line_is_not_an_entry(string line) => Assert.That(WriteLog.Parse(line), Is.Null);
}
