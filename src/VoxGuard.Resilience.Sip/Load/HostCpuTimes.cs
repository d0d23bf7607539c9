using System.Globalization;

namespace VoxGuard.Resilience.Sip.Load;

/// <summary>
/// The whole host's CPU time so far, by what it went to (/proc/stat, its first line, in clock ticks): busy (every
/// process and the kernel, not only the system under test), idle, and stolen by the hypervisor. Read before and after
/// a load, it says what the load's figures were measured on: on this 2-core machine the setup times at 800 CPS moved
/// fivefold between runs minutes apart, with the cores full and the host taking up to a fifth of them
/// (docs/measured-facts.md, "Host noise on the test machine").
/// </summary>
/// <param name="Busy">user + nice + system + irq + softirq (guest time is inside user).</param>
/// <param name="Idle">idle + iowait.</param>
/// <param name="Stolen">steal: time this virtual machine's CPUs were ready to run but the host ran something else.</param>
public readonly record struct HostCpuTimes(long Busy, long Idle, long Stolen)
{
    /// <summary>The times now, or null where /proc/stat cannot be read (not Linux).</summary>
    public static HostCpuTimes? Read()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/stat"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The times in the text of /proc/stat (null without an aggregate "cpu" line of at least eight fields).</summary>
    public static HostCpuTimes? Parse(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        var line = stat.Split('\n').FirstOrDefault(candidate => candidate.StartsWith("cpu ", StringComparison.Ordinal));
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray() ?? [];
        if (fields.Length < 8)
        {
            return null;
        }

        var ticks = new long[8];
        for (var index = 0; index < ticks.Length; index++)
        {
            if (!long.TryParse(fields[index], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[index]))
            {
                return null;
            }
        }

        // user nice system idle iowait irq softirq steal
        return new HostCpuTimes(ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], ticks[3] + ticks[4], ticks[7]);
    }

    /// <summary>How the host's CPU time went between <paramref name="before"/> and this reading.</summary>
    public HostCpuShare Since(HostCpuTimes before)
    {
        var busy = Busy - before.Busy;
        var idle = Idle - before.Idle;
        var stolen = Stolen - before.Stolen;
        var total = busy + idle + stolen;
        return total <= 0 ? new HostCpuShare(0, 0) : new HostCpuShare(100.0 * busy / total, 100.0 * stolen / total);
    }

    /// <summary>How the host's CPU time went since <paramref name="before"/> (a <see cref="Read"/> taken earlier), or null when either reading is missing.</summary>
    public static HostCpuShare? SharedSince(HostCpuTimes? before) =>
        before is { } start && Read() is { } now ? now.Since(start) : null;
}

/// <summary>The host's CPU over an interval, in percent of all its cores' time.</summary>
/// <param name="BusyPercent">Busy: every process and the kernel.</param>
/// <param name="StolenPercent">Taken by the hypervisor (steal).</param>
public readonly record struct HostCpuShare(double BusyPercent, double StolenPercent)
{
    /// <summary>
    /// Busier than this (steal included), the setup times include queueing for a core, whoever made the cores busy: at
    /// 800 CPS through the topology this machine's 2 cores were 91–97 % busy and setup p99 moved from ~100 ms to over
    /// 1 s between runs.
    /// </summary>
    public const double SaturatedPercent = 90;

    /// <summary>The cores were nearly full (<see cref="SaturatedPercent"/>).</summary>
    public bool Saturated => BusyPercent + StolenPercent >= SaturatedPercent;
}
