using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Tests.Support;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;

namespace VoxGuard.Resilience.Sip.Tests.Transactions;

/// <summary>Timers on a manual clock, against in-process UDP peers on loopback.</summary>
public class TransactionTimerTests
{
    private sealed class NoUser : ISipTransactionUser
    {
        public void OnRequest(SipServerTransaction transaction)
        {
        }
    }

    // Answers every request 200 at once and keeps the transactions it saw.
    private sealed class AnsweringUser : ISipTransactionUser
    {
        public List<SipServerTransaction> Seen { get; } = [];

        public void OnRequest(SipServerTransaction transaction)
        {
            Seen.Add(transaction);
            _ = transaction.RespondAsync(transaction.CreateResponse(SipStatus.Ok, toTag: SipIds.NewTag()));
        }
    }

    private static SipRequest Request(string method, IPEndPoint local, IPEndPoint target) =>
        SipMessageFactory.CreateRequest(method, SipUri.For(target), SipVia.Format("UDP", local, SipIds.NewBranch()),
            $"<sip:a@{local}>;tag={SipIds.NewTag()}", $"<sip:b@{target}>", SipIds.NewCallId(), 1);

    private static async Task<int> DrainAsync(Socket socket)
    {
        var count = 0;
        var buffer = new byte[65536];
        await Task.Delay(100);
        while (socket.Available > 0)
        {
            await socket.ReceiveAsync(buffer);
            count++;
        }

        return count;
    }

    // The status codes of every response waiting on the socket, in arrival order.
    private static async Task<int[]> StatusLinesAsync(Socket socket)
    {
        var codes = new List<int>();
        var buffer = new byte[65536];
        await Task.Delay(100);
        while (socket.Available > 0)
        {
            var read = await socket.ReceiveAsync(buffer);
            var message = SipParser.Parse(buffer.AsSpan(0, read));
            codes.Add(((SipResponse)message).StatusCode);
        }

        return [.. codes];
    }

    [Test]
    public async Task A_uas_that_does_not_ring_sends_100_trying_before_its_hook_decides()
    {
        var decide = new TaskCompletionSource<CallDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var uas = new SipUserAgentServer(new SipUasOptions
        {
            UdpEndPoint = TestAddresses.Any(TestAddresses.Uas),
            SendRinging = false,
            OnInvite = async (_, _) => await decide.Task,
        });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        await peer.SendToAsync(Request("INVITE", (IPEndPoint)peer.LocalEndPoint!, uas.UdpEndPoint!).ToBytes(), uas.UdpEndPoint!);
        Assert.That(await StatusLinesAsync(peer), Is.EqualTo(new[] { 100 }), "nothing else answers it yet: the transaction must say it is trying");

        decide.SetResult(CallDecision.Answer);
        await UserAgents.UserAgentTests.WaitForAsync(() => uas.Counters.Answered == 1);
        Assert.That(await StatusLinesAsync(peer), Is.EqualTo(new[] { 200 }));
    }

    [Test]
    public async Task Invite_is_retransmitted_at_T1_2T1_4T1_and_times_out_at_64T1()
    {
        var clock = new ManualTimeProvider();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        var layer = new SipTransactionLayer(new NoUser(), new SipTransactionOptions { TimeProvider = clock });
        await using var udp = new SipUdpTransport(TestAddresses.Any(TestAddresses.Uac), layer);
        udp.Start();

        var transaction = layer.SendRequest(Request("INVITE", udp.LocalEndPoint, (IPEndPoint)peer.LocalEndPoint!), udp.ChannelTo((IPEndPoint)peer.LocalEndPoint!));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "sent at 0");
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.That(await DrainAsync(peer), Is.Zero, "nothing before T1");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "Timer A at T1");
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "Timer A at 3·T1 (interval 2·T1)");
        clock.Advance(TimeSpan.FromMilliseconds(2000));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "Timer A at 7·T1 (interval 4·T1)");

        clock.Advance(TimeSpan.FromMilliseconds(31_999 - 3500));
        Assert.That(transaction.Completion.IsCompleted, Is.False, "Timer B not yet at 64·T1 − 1 ms");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await transaction.Completion.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.That(result.Failure, Is.EqualTo(SipClientFailure.Timeout));
        Assert.That(result.Error, Does.Contain("Timer B"));
        Assert.That(transaction.Retransmissions, Is.EqualTo(6), "at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s");
        Assert.That(layer.ClientTransactionCount, Is.Zero);
    }

    [Test]
    public async Task Non_invite_retransmissions_are_capped_at_T2_and_timer_F_fires_at_64T1()
    {
        var clock = new ManualTimeProvider();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        var layer = new SipTransactionLayer(new NoUser(), new SipTransactionOptions { TimeProvider = clock });
        await using var udp = new SipUdpTransport(TestAddresses.Any(TestAddresses.Uac), layer);
        udp.Start();

        var transaction = layer.SendRequest(Request("OPTIONS", udp.LocalEndPoint, (IPEndPoint)peer.LocalEndPoint!), udp.ChannelTo((IPEndPoint)peer.LocalEndPoint!));
        clock.Advance(TimeSpan.FromMilliseconds(11_500));
        Assert.That(transaction.Retransmissions, Is.EqualTo(5), "0.5, 1.5, 3.5, 7.5, 11.5 s: doubling, then every T2 = 4 s");
        clock.Advance(TimeSpan.FromMilliseconds(20_499));
        Assert.That(transaction.Completion.IsCompleted, Is.False);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await transaction.Completion.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.That(result.Failure, Is.EqualTo(SipClientFailure.Timeout));
        Assert.That(result.Error, Does.Contain("Timer F"));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1 + 10), "0.5 … 31.5 s: 5 doubling, then 5 at T2 (15.5 … 31.5)");
    }

    [Test]
    public async Task A_completed_bye_answers_retransmissions_until_timer_J_without_keeping_its_request()
    {
        var clock = new ManualTimeProvider();
        var user = new AnsweringUser();
        var layer = new SipTransactionLayer(user, new SipTransactionOptions { TimeProvider = clock });
        await using var udp = new SipUdpTransport(TestAddresses.Any(TestAddresses.Uas), layer);
        udp.Start();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        var bye = Request("BYE", (IPEndPoint)peer.LocalEndPoint!, udp.LocalEndPoint).ToBytes();

        await peer.SendToAsync(bye, udp.LocalEndPoint);
        Assert.That(await StatusLinesAsync(peer), Is.EqualTo(new[] { 200 }));
        var transaction = user.Seen.Single();
        Assert.That(() => transaction.Request, Throws.InvalidOperationException.With.Message.Contains("released"),
            "completed: only the key and the last response are kept");

        clock.Advance(TimeSpan.FromSeconds(31));
        await peer.SendToAsync(bye, udp.LocalEndPoint);
        Assert.That(await StatusLinesAsync(peer), Is.EqualTo(new[] { 200 }), "a retransmission within Timer J gets the same 200");
        Assert.That(user.Seen, Has.Count.EqualTo(1), "and is no new request");

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(layer.ServerTransactionCount, Is.Zero, "Timer J (64·T1) ended it");
    }

    [Test]
    public async Task The_uas_retransmits_its_200_until_the_ack_and_counts_a_missing_ack_at_timer_H()
    {
        var clock = new ManualTimeProvider();
        await using var uas = new SipUserAgentServer(new SipUasOptions
        {
            UdpEndPoint = TestAddresses.Any(TestAddresses.Uas),
            Transactions = new SipTransactionOptions { TimeProvider = clock },
        });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        var invite = Request("INVITE", (IPEndPoint)peer.LocalEndPoint!, uas.UdpEndPoint!);
        await peer.SendToAsync(invite.ToBytes(), uas.UdpEndPoint!);
        await UserAgents.UserAgentTests.WaitForAsync(() => uas.Counters.Answered == 1);
        Assert.That(await StatusLinesAsync(peer), Is.EqualTo(new[] { 180, 200 }), "the 180 went at once, so no 100 (RFC 3261 17.2.1)");

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "Timer G: the 200 again at T1");
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.That(await DrainAsync(peer), Is.EqualTo(1), "and at 3·T1");
        clock.Advance(TimeSpan.FromSeconds(32));
        await UserAgents.UserAgentTests.WaitForAsync(() => uas.Counters.AckTimeouts == 1);
        Assert.That(uas.Counters.Acks, Is.Zero);
    }
}
