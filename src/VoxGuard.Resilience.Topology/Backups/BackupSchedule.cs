using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>One backup the schedule calls for.</summary>
/// <param name="GuideTime">When it is due on the schedule's clock (WAT for the guide), as an instant.</param>
/// <param name="Type">Full or incremental (a full replaces the incremental due at the same time).</param>
/// <param name="DrillOffset">When a drill runs it: its distance from the drill's start, divided by the time compression.</param>
public sealed record ScheduledBackup(DateTimeOffset GuideTime, PgBackRestBackupType Type, TimeSpan DrillOffset);

/// <summary>
/// The backups the environment's schedule calls for in a stretch of time — full every <c>full.every</c> aligned on
/// <c>full.at</c>, incremental every <c>incremental.every</c> from the same moment — and when a drill, compressing time
/// by <see cref="BackupsDefinition.TimeCompression"/>, takes each of them. A pure function: the drill's own clock
/// decides when "now" is.
/// </summary>
public static class BackupSchedule
{
    /// <summary>
    /// The backups due from <paramref name="start"/> (included) for <paramref name="span"/> of the schedule's time, in order.
    /// </summary>
    public static IReadOnlyList<ScheduledBackup> Between(BackupsDefinition backups, DateTimeOffset start, TimeSpan span)
    {
        ArgumentNullException.ThrowIfNull(backups);
        ArgumentOutOfRangeException.ThrowIfLessThan(span, TimeSpan.Zero);
        var end = start + span;
        var local = start.ToOffset(backups.UtcOffset);
        var anchor = new DateTimeOffset(local.Date + (backups.Full.At ?? TimeOnly.MinValue).ToTimeSpan(), backups.UtcOffset);
        var fulls = Series(anchor, backups.Full.Every, start, end).ToHashSet();
        var incrementalAnchor = backups.Incremental.At is { } at ? new DateTimeOffset(local.Date + at.ToTimeSpan(), backups.UtcOffset) : anchor;
        var due = fulls.Select(time => (Time: time, Type: PgBackRestBackupType.Full))
            .Concat(Series(incrementalAnchor, backups.Incremental.Every, start, end).Where(time => !fulls.Contains(time)).Select(time => (Time: time, Type: PgBackRestBackupType.Incremental)));
        return [.. due.OrderBy(backup => backup.Time).Select(backup => new ScheduledBackup(backup.Time, backup.Type, backups.Compress(backup.Time - start)))];
    }

    /// <summary>anchor + k × every for every whole k that falls in [start, end).</summary>
    private static IEnumerable<DateTimeOffset> Series(DateTimeOffset anchor, TimeSpan every, DateTimeOffset start, DateTimeOffset end)
    {
        var steps = (long)Math.Ceiling((start - anchor).Ticks / (double)every.Ticks);
        for (var time = anchor + (every * steps); time < end; time += every)
        {
            if (time >= start)
            {
                yield return time;
            }
        }
    }
}
