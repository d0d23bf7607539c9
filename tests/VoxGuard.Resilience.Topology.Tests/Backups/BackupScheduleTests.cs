using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>The guide's schedule (full daily at 02:00 WAT, incremental every 6 h) laid out in time, and compressed for drills.</summary>
[TestFixture]
public sealed class BackupScheduleTests
{
    private static readonly TimeSpan Wat = TimeSpan.FromHours(1);
    private static readonly BackupsDefinition Guide = TinyEnvironment.Parse(TinyEnvironment.Yaml).Backups;

    [Test]
    public void A_day_from_midnight_wat_has_the_full_at_two_and_incrementals_every_six_hours_after_it()
    {
        var day = BackupSchedule.Between(Guide, new DateTimeOffset(2026, 12, 4, 0, 0, 0, Wat), TimeSpan.FromDays(1));

        Assert.That(day.Select(backup => $"{backup.GuideTime.ToOffset(Wat):HH:mm} {backup.Type}"),
            Is.EqualTo(new[] { "02:00 Full", "08:00 Incremental", "14:00 Incremental", "20:00 Incremental" }));
    }

    [Test]
    public void A_drill_compressed_7200_times_runs_that_day_in_twelve_seconds()
    {
        var ci = Guide with { TimeCompression = 7200 };

        var day = BackupSchedule.Between(ci, new DateTimeOffset(2026, 12, 4, 0, 0, 0, Wat), TimeSpan.FromDays(1));

        Assert.Multiple(() =>
        {
            Assert.That(day.Select(backup => backup.DrillOffset), Is.EqualTo(new[] { 1, 4, 7, 10 }.Select(seconds => TimeSpan.FromSeconds(seconds))));
            Assert.That(ci.CompressedDay, Is.EqualTo(TimeSpan.FromSeconds(12)));
        });
    }

    [Test]
    public void A_stretch_starting_mid_day_in_utc_keeps_the_wat_clock_and_the_full_replaces_the_incremental_due_with_it()
    {
        var from = new DateTimeOffset(2026, 12, 4, 12, 30, 0, TimeSpan.Zero); // 13:30 WAT

        var due = BackupSchedule.Between(Guide, from, TimeSpan.FromHours(18));

        Assert.That(due.Select(backup => $"{backup.GuideTime.ToOffset(Wat):dd HH:mm} {backup.Type}"),
            Is.EqualTo(new[] { "04 14:00 Incremental", "04 20:00 Incremental", "05 02:00 Full" }));
    }
}
