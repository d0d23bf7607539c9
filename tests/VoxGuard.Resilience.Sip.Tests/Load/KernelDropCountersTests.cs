using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Tests.Support;

namespace VoxGuard.Resilience.Sip.Tests.Load;

public class KernelDropCountersTests
{
    private const string Snmp = """
        Ip: Forwarding DefaultTTL InReceives
        Ip: 1 64 123
        Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
        Udp: 1000 2 31 990 29 0 0 0 0
        UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
        UdpLite: 0 0 0 0 7 0 0 0 0

        """;

    private const string Netstat = """
        TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops
        TcpExt: 0 0 4 4
        IpExt: InNoRoutes InTruncatedPkts
        IpExt: 0 0

        """;

    [Test]
    public void Reads_udp_receive_buffer_errors_and_listen_overflows_by_their_names_not_udplite_s()
    {
        var counters = KernelDropCounters.Parse(Snmp, Netstat);

        Assert.That(counters, Is.EqualTo(new KernelDropCounters(29, 4)));
    }

    [Test]
    public void A_missing_field_reads_as_unknown_and_the_difference_is_what_was_dropped_meanwhile()
    {
        Assert.That(KernelDropCounters.Parse(Snmp.Replace("RcvbufErrors", "Other", StringComparison.Ordinal), Netstat), Is.Null);
        Assert.That(KernelDropCounters.Parse(Snmp, "TcpExt: SyncookiesSent\nTcpExt: 0\n"), Is.Null);

        var dropped = new KernelDropCounters(40, 6).Since(new KernelDropCounters(29, 4));
        Assert.That(dropped, Is.EqualTo(new KernelDropCounters(11, 2)));
        Assert.That(dropped.IsZero, Is.False);
        Assert.That(dropped.Total, Is.EqualTo(13));
        Assert.That(new KernelDropCounters(29, 4).Since(new KernelDropCounters(29, 4)).IsZero, Is.True);
        Assert.That(KernelDropCounters.DroppedSince(null), Is.Null, "no first reading, no difference");
    }

    [Test]
    public async Task Counts_the_datagrams_the_kernel_drops_at_a_full_receive_buffer()
    {
        // A receiver that never reads, with the smallest buffer the kernel allows: most of 500 datagrams cannot fit.
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 1 };
        receiver.Bind(TestAddresses.Any(TestAddresses.Peer));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(TestAddresses.Any(TestAddresses.Uac));
        var before = KernelDropCounters.Read();
        Assert.That(before, Is.Not.Null, "/proc/net/snmp and /proc/net/netstat are readable here");

        var datagram = new byte[512];
        for (var i = 0; i < 500; i++)
        {
            await sender.SendToAsync(datagram, receiver.LocalEndPoint!);
        }

        var dropped = KernelDropCounters.DroppedSince(before)!.Value;
        Assert.That(dropped.UdpReceiveBufferErrors, Is.GreaterThanOrEqualTo(400), "at most a few datagrams fit a minimal buffer");
    }
}
