using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.Tests.Support;
using VoxGuard.Resilience.Sip.UserAgents;

namespace VoxGuard.Resilience.Sip.Tests.UserAgents;

/// <summary>Our UAC against our UAS, in process on loopback, with real sockets and a short T1.</summary>
public class UserAgentTests
{
    private static readonly SipTransactionOptions Fast = new() { T1 = TimeSpan.FromMilliseconds(50), T2 = TimeSpan.FromMilliseconds(400), T4 = TimeSpan.FromMilliseconds(200) };

    private static SipUserAgentServer Uas(Func<IncomingCall, CancellationToken, ValueTask<CallDecision>>? hook = null) => new(new SipUasOptions
    {
        UdpEndPoint = TestAddresses.Any(TestAddresses.Uas),
        TcpEndPoint = TestAddresses.Any(TestAddresses.Uas),
        ResponseHeaders = [new(SipHeaderNames.VoxGuardRegion, "lagos")],
        OnInvite = hook,
        Transactions = Fast,
    });

    private static SipUserAgentClient Uac() => new(new SipUacOptions { UdpEndPoint = TestAddresses.Any(TestAddresses.Uac), Transactions = Fast });

    [TestCase(SipTransportKind.Udp)]
    [TestCase(SipTransportKind.Tcp)]
    public async Task A_call_completes_with_its_timestamps_status_and_region(SipTransportKind transport)
    {
        await using var uas = Uas();
        await using var uac = Uac();
        var target = transport == SipTransportKind.Tcp ? uas.TcpEndPoint! : uas.UdpEndPoint!;

        var call = await uac.CallAsync(target, new CallOptions { Transport = transport, HoldTime = TimeSpan.FromMilliseconds(100) });

        Assert.That(call.Outcome, Is.EqualTo(CallOutcome.Completed), call.FailureReason);
        Assert.That(call.StatusCode, Is.EqualTo(200));
        Assert.That(call.ByeStatusCode, Is.EqualTo(200));
        Assert.That(call.Region, Is.EqualTo("lagos"));
        Assert.That(call.FirstProvisionalAt, Is.GreaterThanOrEqualTo(call.StartedAt));
        Assert.That(call.AnsweredAt, Is.GreaterThanOrEqualTo(call.FirstProvisionalAt!.Value));
        // .NET's timers count in Environment.TickCount64, CLOCK_MONOTONIC_COARSE on Linux: 4 ms resolution on this kernel
        // (clock_getres), so a 100 ms hold can end up to one tick and a bit early on the Stopwatch (94.94 ms seen once).
        Assert.That(call.EndedAt - call.AnsweredAt!.Value, Is.GreaterThanOrEqualTo(call.TimestampFrequency * 90 / 1000), "held 100 ms (timers may fire a coarse-clock tick early)");
        await WaitForAsync(() => uas.Counters.Acks == 1 && uas.Counters.Byes == 1);
        Assert.That(uas.Counters, Is.EqualTo(new SipUasCounters(1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0)));
        Assert.That(uac.ActiveCalls, Is.Zero);
    }

    [Test]
    public async Task A_tcp_call_leaves_from_the_source_address_it_was_given()
    {
        var seen = new List<IPEndPoint>();
        await using var uas = Uas((call, _) =>
        {
            lock (seen)
            {
                seen.Add(call.RemoteEndPoint);
            }

            return ValueTask.FromResult(CallDecision.Answer);
        });
        await using var uac = Uac();

        var records = await Task.WhenAll(Enumerable.Range(0, 3).Select(index =>
            uac.CallAsync(uas.TcpEndPoint!, new CallOptions { Transport = SipTransportKind.Tcp, LocalAddress = TestAddresses.Source(index) })));

        Assert.That(records.Select(record => record.Outcome), Is.All.EqualTo(CallOutcome.Completed));
        Assert.That(seen.Select(endPoint => endPoint.Address).OrderBy(address => address.ToString()),
            Is.EqualTo(new[] { TestAddresses.Source(0), TestAddresses.Source(1), TestAddresses.Source(2) }));
        Assert.That(records.Select(record => record.LocalEndPoint!.Address), Is.EquivalentTo(seen.Select(endPoint => endPoint.Address)));
    }

    [Test]
    public async Task A_rejection_from_the_hook_is_a_rejected_call_with_its_status()
    {
        await using var uas = Uas((_, _) => ValueTask.FromResult(CallDecision.Reject(503)));
        await using var uac = Uac();

        var call = await uac.CallAsync(uas.UdpEndPoint!);

        Assert.That(call.Outcome, Is.EqualTo(CallOutcome.Rejected));
        Assert.That(call.StatusCode, Is.EqualTo(503));
        Assert.That(call.FailureReason, Is.EqualTo("503 Service Unavailable"));
        Assert.That(call.Region, Is.EqualTo("lagos"));
        await WaitForAsync(() => uas.Counters.Acks == 1);
        Assert.That(uas.Counters.Rejected, Is.EqualTo(1));
    }

    [TestCase(SipTransportKind.Udp)]
    [TestCase(SipTransportKind.Tcp)]
    public async Task Cancelling_an_unanswered_call_sends_cancel_and_gets_487(SipTransportKind transport)
    {
        var ringing = new TaskCompletionSource();
        await using var uas = Uas(async (_, cancelled) =>
        {
            ringing.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancelled);
            return CallDecision.Answer;
        });
        await using var uac = Uac();
        var call = uac.PlaceCall(transport == SipTransportKind.Tcp ? uas.TcpEndPoint! : uas.UdpEndPoint!, new CallOptions { Transport = transport });
        await ringing.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var record = await call.CancelAsync().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.That(record.Outcome, Is.EqualTo(CallOutcome.Cancelled), record.FailureReason);
        Assert.That(record.StatusCode, Is.EqualTo(487));
        Assert.That(record.AnsweredAt, Is.Null);
        await WaitForAsync(() => uas.Counters.Cancelled == 1);
        Assert.That(uas.Counters.Answered, Is.Zero);
    }

    [Test]
    public async Task A_silent_udp_peer_times_out_at_timer_b_after_retransmissions()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(TestAddresses.Any(TestAddresses.Peer));
        await using var uac = new SipUserAgentClient(new SipUacOptions
        {
            UdpEndPoint = TestAddresses.Any(TestAddresses.Uac),
            Transactions = new SipTransactionOptions { T1 = TimeSpan.FromMilliseconds(10) },
        });

        var call = await uac.CallAsync((IPEndPoint)silent.LocalEndPoint!);

        Assert.That(call.Outcome, Is.EqualTo(CallOutcome.Timeout));
        Assert.That(call.FailureReason, Does.Contain("Timer B"));
        Assert.That(call.Duration, Is.InRange(TimeSpan.FromMilliseconds(630), TimeSpan.FromSeconds(3)));
        Assert.That(silent.Available, Is.GreaterThan(0));
    }

    [Test]
    public async Task A_refused_tcp_connection_is_a_transport_error_value()
    {
        using var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(TestAddresses.Any(TestAddresses.Peer)); // bound, not listening: connections are refused
        await using var uac = Uac();

        var call = await uac.CallAsync((IPEndPoint)reserved.LocalEndPoint!, new CallOptions { Transport = SipTransportKind.Tcp });

        Assert.That(call.Outcome, Is.EqualTo(CallOutcome.TransportError));
        Assert.That(call.FailureReason, Does.Contain("ConnectionRefused"));
    }

    [Test]
    public async Task Destinations_outside_loopback_are_refused_with_the_rule_named()
    {
        await using var uac = Uac();
        var error = Assert.Throws<ArgumentException>(() => uac.PlaceCall(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5060)));
        Assert.That(error!.Message, Does.Contain("127.0.0.0/8"));
        Assert.ThrowsAsync<ArgumentException>(() => uac.OptionsAsync(new IPEndPoint(IPAddress.Parse("192.168.1.1"), 5060)));
    }

    [TestCase(SipTransportKind.Udp)]
    [TestCase(SipTransportKind.Tcp)]
    public async Task Options_gets_200_with_the_region(SipTransportKind transport)
    {
        await using var uas = Uas();
        await using var uac = Uac();

        var result = await uac.OptionsAsync(transport == SipTransportKind.Tcp ? uas.TcpEndPoint! : uas.UdpEndPoint!, transport);

        Assert.That(result.StatusCode, Is.EqualTo(200), result.Error);
        Assert.That(result.Region, Is.EqualTo("lagos"));
        Assert.That(uas.Counters.Options, Is.EqualTo(1));
    }

    [Test]
    public async Task Hundreds_of_concurrent_calls_over_udp_and_tcp_all_complete()
    {
        await using var uas = Uas(async (_, _) =>
        {
            await Task.Delay(20);
            return CallDecision.Answer;
        });
        await using var uac = Uac();
        var started = Stopwatch.GetTimestamp();

        var calls = Enumerable.Range(0, 400).Select(index => uac.PlaceCall(index % 2 == 0 ? uas.UdpEndPoint! : uas.TcpEndPoint!, new CallOptions
        {
            Transport = index % 2 == 0 ? SipTransportKind.Udp : SipTransportKind.Tcp,
            LocalAddress = index % 2 == 0 ? null : TestAddresses.Source(index),
            HoldTime = TimeSpan.FromMilliseconds(200),
        })).ToList();
        var records = await Task.WhenAll(calls.Select(call => call.Completion)).WaitAsync(TimeSpan.FromSeconds(30));
        TestContext.Out.WriteLine($"400 concurrent calls (20 ms to answer, 200 ms hold) completed in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s");

        Assert.That(records.Where(record => !record.Succeeded).Select(record => $"{record.Outcome}: {record.FailureReason}"), Is.Empty);
        Assert.That(uas.Counters.Answered, Is.EqualTo(400));
        await WaitForAsync(() => uas.Counters.Byes == 400);
        Assert.That(uas.Counters.ActiveDialogs, Is.Zero);
    }

    [Test]
    public async Task An_unparseable_request_is_answered_with_the_parsers_code()
    {
        await using var uas = Uas();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(TestAddresses.Any(TestAddresses.Peer));
        var bad = "OPTIONS sip:engine@127.0.141.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.143.1;branch=z9hG4bKbad\r\nFrom: <sip:a@127.0.143.1>;tag=1\r\n" +
                  "To: <sip:b@127.0.141.1>\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

        await peer.SendToAsync(System.Text.Encoding.UTF8.GetBytes(bad), uas.UdpEndPoint!);
        var buffer = new byte[4096];
        var received = await peer.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5));
        var response = (SipResponse)SipParser.Parse(buffer.AsSpan(0, received));

        Assert.That(response.StatusCode, Is.EqualTo(400));
        Assert.That(response.Headers.Get("Warning"), Does.Contain("CSeq method INVITE does not match the request method OPTIONS"));
        Assert.That(uas.Counters.ParseErrors, Is.EqualTo(1));
    }

    internal static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.That(condition(), Is.True, "condition not met within 5 s");
    }
}
