using System.Globalization;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>The fields of /proc/&lt;pid&gt;/stat the harness relies on.</summary>
/// <param name="Pid">Field 1.</param>
/// <param name="State">Field 3: R, S, D, T (stopped), t (traced), Z (zombie), X (dead) …</param>
/// <param name="ParentPid">Field 4.</param>
/// <param name="ProcessGroup">Field 5.</param>
/// <param name="Session">Field 6.</param>
/// <param name="StartTime">Field 22: when the process started, in clock ticks after boot. It survives exec, so with the
/// PID it identifies one process even after its PID is reused.</param>
internal readonly record struct ProcStat(int Pid, char State, int ParentPid, int ProcessGroup, int Session, ulong StartTime)
{
    /// <summary>A zombie or dead entry: the process runs no more, only its PID is still held.</summary>
    public bool IsGone => State is 'Z' or 'X' or 'x';

    /// <summary>Stopped by SIGSTOP (or another stop signal).</summary>
    public bool IsStopped => State == 'T';
}

/// <summary>Reads /proc: process identity (PID + start time), process groups, the boot id and the clock.</summary>
internal static class ProcFs
{
    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";

    /// <summary>This boot's id: start times from another boot mean nothing, so records carry it.</summary>
    public static string? BootId => TryReadText(BootIdPath)?.Trim();

    public static bool TryReadStat(int pid, out ProcStat stat) =>
        TryParseStat(TryReadText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat")), out stat);

    /// <summary>The harness's own stat line (/proc/self/stat).</summary>
    public static ProcStat ReadSelf() =>
        TryParseStat(TryReadText("/proc/self/stat"), out var stat)
            ? stat
            : throw new InvalidOperationException("Cannot read /proc/self/stat; the harness needs Linux with /proc mounted.");

    /// <summary>True when <paramref name="pid"/> is running (not a zombie) and started at <paramref name="startTime"/>.</summary>
    public static bool IsRunning(int pid, ulong startTime) =>
        TryReadStat(pid, out var stat) && !stat.IsGone && stat.StartTime == startTime;

    /// <summary>Every process (zombies included) whose process group is <paramref name="processGroup"/>.</summary>
    public static List<ProcStat> GroupMembers(int processGroup) => [.. AllStats().Where(stat => stat.ProcessGroup == processGroup)];

    /// <summary>
    /// Every live descendant of <paramref name="pid"/> in its session (its children, theirs, …), from one pass over /proc.
    /// A descendant in a session of its own is left out with everything below it: a server a run started, whose owner
    /// stops it.
    /// </summary>
    public static List<int> LiveDescendantsInSession(int pid)
    {
        if (!TryReadStat(pid, out var root))
        {
            return [];
        }

        var children = AllStats().Where(stat => !stat.IsGone && stat.Session == root.Session)
            .GroupBy(stat => stat.ParentPid, stat => stat.Pid)
            .ToDictionary(group => group.Key, group => group.ToList());

        var descendants = new List<int>();
        var next = new Queue<int>([pid]);
        while (next.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent, []))
            {
                descendants.Add(child);
                next.Enqueue(child);
            }
        }

        return descendants;
    }

    /// <summary>The stat of every process in /proc now (those gone meanwhile left out).</summary>
    private static IEnumerable<ProcStat> AllStats()
    {
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && TryReadStat(pid, out var stat))
            {
                yield return stat;
            }
        }
    }

    /// <summary>The members of the group that still run (not zombies).</summary>
    public static List<ProcStat> LiveGroupMembers(int processGroup) =>
        Signals.GroupExists(processGroup) ? GroupMembers(processGroup).FindAll(member => !member.IsGone) : [];

    /// <summary>Time since boot in the unit of <see cref="ProcStat.StartTime"/>, rounded up.</summary>
    public static ulong UptimeTicks()
    {
        var text = TryReadText("/proc/uptime");
        var seconds = text?.Split(' ', 2)[0];
        return decimal.TryParse(seconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? (ulong)decimal.Ceiling(value * Signals.ClockTicksPerSecond) + 1
            : ulong.MaxValue;
    }

    /// <summary>The file the process runs (/proc/&lt;pid&gt;/exe), or null when it cannot be read (gone, zombie).</summary>
    public static string? Executable(int pid)
    {
        try
        {
            return File.ResolveLinkTarget(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/exe"), returnFinalTarget: false)?.FullName;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether SIGSTOP is pending for <paramref name="pid"/> (its SigPnd or ShdPnd in /proc/&lt;pid&gt;/status): sent, not yet
    /// acted on — the process stops the moment it leaves the kernel. False when the process is gone.
    /// </summary>
    public static bool HasStopPending(int pid) =>
        StopPendingIn(TryReadText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/status")));

    /// <summary>Whether a /proc/&lt;pid&gt;/status text shows SIGSTOP (mask 0x40000) among the thread's or the process's pending signals.</summary>
    internal static bool StopPendingIn(string? status)
    {
        const ulong StopMask = 1UL << (Signals.Stop - 1);
        foreach (var line in (status ?? string.Empty).Split('\n'))
        {
            if ((line.StartsWith("SigPnd:", StringComparison.Ordinal) || line.StartsWith("ShdPnd:", StringComparison.Ordinal))
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var pending)
                && (pending & StopMask) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Parses a stat line. The command name (field 2) is in parentheses and may itself hold spaces and parentheses,
    /// so the fields are counted from the last ')'.
    /// </summary>
    internal static bool TryParseStat(string? text, out ProcStat stat)
    {
        stat = default;
        var close = text?.LastIndexOf(')') ?? -1;
        if (text is null || close < 0 || close + 2 >= text.Length)
        {
            return false;
        }

        var fields = text[(close + 2)..].Split(' ');
        const int startTimeIndex = 22 - 3; // fields[0] is field 3 (state)
        if (fields.Length <= startTimeIndex || fields[0].Length != 1
            || !int.TryParse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parent)
            || !int.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var group)
            || !int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var session)
            || !ulong.TryParse(fields[startTimeIndex], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime))
        {
            return false;
        }

        stat = new ProcStat(pid, fields[0][0], parent, group, session, startTime);
        return true;
    }

    private static string? TryReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
