using System.Globalization;

namespace VoxGuard.Resilience.Sip.Load;

/// <summary>
/// The kernel's counts of packets it dropped before any server read them (this network namespace, every socket):
/// UDP datagrams refused by a full receive buffer and TCP connections refused by a full listen queue. A load's
/// setup times are the system's only while these stay still: each UDP drop on the path costs its call a SIP
/// retransmission (T1 = 500 ms, then doubling), so a run that dropped is measuring the miniature's buffers
/// (docs/measured-facts.md, "UDP receive buffers under load").
/// </summary>
/// <param name="UdpReceiveBufferErrors">/proc/net/snmp, Udp: RcvbufErrors.</param>
/// <param name="TcpListenOverflows">/proc/net/netstat, TcpExt: ListenOverflows.</param>
public readonly record struct KernelDropCounters(long UdpReceiveBufferErrors, long TcpListenOverflows)
{
    /// <summary>The counters now, or null where /proc/net cannot be read (not Linux, or hidden).</summary>
    public static KernelDropCounters? Read()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/net/snmp"), File.ReadAllText("/proc/net/netstat"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The counters in the text of /proc/net/snmp and /proc/net/netstat (null when a field is missing).</summary>
    public static KernelDropCounters? Parse(string snmp, string netstat)
    {
        ArgumentNullException.ThrowIfNull(snmp);
        ArgumentNullException.ThrowIfNull(netstat);
        return Field(snmp, "Udp", "RcvbufErrors") is { } udp && Field(netstat, "TcpExt", "ListenOverflows") is { } listen
            ? new KernelDropCounters(udp, listen)
            : null;
    }

    /// <summary>What was dropped between <paramref name="before"/> and this reading.</summary>
    public KernelDropCounters Since(KernelDropCounters before) =>
        new(UdpReceiveBufferErrors - before.UdpReceiveBufferErrors, TcpListenOverflows - before.TcpListenOverflows);

    /// <summary>What was dropped since <paramref name="before"/> (a <see cref="Read"/> taken earlier), or null when either reading is missing.</summary>
    public static KernelDropCounters? DroppedSince(KernelDropCounters? before) =>
        before is { } start && Read() is { } now ? now.Since(start) : null;

    /// <summary>Nothing dropped.</summary>
    public bool IsZero => UdpReceiveBufferErrors == 0 && TcpListenOverflows == 0;

    /// <summary>Every packet counted, of either kind.</summary>
    public long Total => UdpReceiveBufferErrors + TcpListenOverflows;

    // Each protocol is two lines: "Udp: InDatagrams NoPorts …" then "Udp: 123 4 …".
    private static long? Field(string text, string protocol, string name)
    {
        var prefix = protocol + ":";
        var lines = text.Split('\n').Where(line => line.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        if (lines.Length < 2)
        {
            return null;
        }

        var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var index = Array.IndexOf(names, name);
        return index > 0 && index < values.Length && long.TryParse(values[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
    }
}
