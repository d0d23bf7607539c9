using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Sip.Tests.Support;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Sip.Tests.Interop;

/// <summary>
/// SIP over a UDP link of the link server (our UAC → link → SIPp's UAS): the link's latency shows in every call's
/// setup time, and datagrams the link drops show as SIP retransmissions that still complete every call.
/// </summary>
[Category("Functional")]
[NonParallelizable]
public sealed class SipOverUdpLinkTests
{
    private const string Link = "abuja-lagos-sip-udp";
    private static readonly IPEndPoint SippUas = new(TestAddresses.SippUas, 15081);
    private static readonly IPEndPoint LinkListen = new(TestAddresses.Peer, 15082);
    private RunDirectory _run = null!;
    private LinkServer _links = null!;
    private LinkClient _client = null!;
    private SipUserAgentClient _uac = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (!File.Exists("/usr/bin/sipp"))
        {
            Assert.Ignore("SIPp is missing: apt-get install sip-tester (these tests run /usr/bin/sipp).");
        }

        _run = RunDirectory.Create();
        var sipp = await _run.StartProcessAsync(new ProcessSpec("sipp-uas-udp-link", "sipp", "sip-tester")
        {
            Arguments = ["-sn", "uas", "-i", SippUas.Address.ToString(), "-p", SippUas.Port.ToString(CultureInfo.InvariantCulture), "-t", "u1", "-nostdin"],
        });
        await WaitStrategy.Until($"SIPp UAS bound to udp {SippUas}", _ => Task.FromResult(SippInteropTests.IsBound(SippUas, SipTransportKind.Udp)))
            .WithTimeout(TimeSpan.FromSeconds(10)).WaitAsync(sipp);
        _links = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0), RandomSeed = 42 });
        await _links.StartAsync();
        _client = new LinkClient(_links.ApiAddress);
        await _client.CreateProxyAsync(new LinkProxySpec(Link, LinkListen.ToString(), SippUas.ToString(), Protocol: "udp"));
        _uac = new SipUserAgentClient(new SipUacOptions { UdpEndPoint = new IPEndPoint(TestAddresses.Uac, 0) });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_run is null)
        {
            return;
        }

        await _uac.DisposeAsync();
        _client.Dispose();
        await _links.DisposeAsync();
        await _run.DisposeAsync();
    }

    [TearDown]
    public Task RemoveToxicsAsync() => _client.ResetAsync();

    [Test]
    public async Task The_links_latency_adds_a_round_trip_of_it_to_every_calls_setup_time()
    {
        var direct = await CallsAsync(LinkListen, 30);
        await _client.AddToxicAsync(Link, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)) with { Stream = "upstream" });
        await _client.AddToxicAsync(Link, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)));
        var delayed = await CallsAsync(LinkListen, 30);

        var before = SetupTimes(direct);
        var after = SetupTimes(delayed);
        TestContext.Out.WriteLine($"setup p50 {before[before.Count / 2]:F1} ms without latency, {after[after.Count / 2]:F1} ms with 40 ms each way; fastest {after[0]:F1} ms");
        Assert.Multiple(() =>
        {
            Assert.That(direct.Concat(delayed).Where(call => !call.Succeeded).Select(call => call.FailureReason), Is.Empty);
            // The INVITE goes up the link and the 200 comes down it: every setup pays both directions.
            Assert.That(after[0] - before[0], Is.GreaterThanOrEqualTo(80 - 1), "no call is set up faster than one round trip of the link");
            Assert.That(after[after.Count / 2] - before[before.Count / 2], Is.InRange(80 - 1, 80 + 20));
        });
    }

    [Test]
    public async Task Datagrams_the_link_drops_show_as_retransmissions_and_every_call_still_completes()
    {
        // 30 % of the INVITEs lost on their way up (the ACK and BYE go to SIPp's Contact, beside the link): Timer A
        // resends each, T1 (500 ms) later.
        await _client.AddToxicAsync(Link, ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "loss", Stream = "upstream", Toxicity = 0.3 });
        var calls = await CallsAsync(LinkListen, 80);

        var retransmitted = calls.Where(call => call.Retransmissions > 0).ToList();
        TestContext.Out.WriteLine($"{calls.Count(call => call.Succeeded)}/{calls.Count} completed; {retransmitted.Count} calls retransmitted, {calls.Sum(call => call.Retransmissions)} retransmissions");
        Assert.Multiple(() =>
        {
            Assert.That(calls.Where(call => !call.Succeeded).Select(call => $"{call.Outcome}: {call.FailureReason}"), Is.Empty, "SIP over UDP recovers from loss by retransmitting");
            // 80 INVITEs at 30 % loss: about 24 lost first sends (σ 4.1); fewer than 8 has a probability below 1e-4.
            Assert.That(calls.Sum(call => call.Retransmissions), Is.GreaterThanOrEqualTo(8));
            Assert.That(retransmitted.Where(call => call.TimeToAnswer is { } answer && answer >= TimeSpan.FromMilliseconds(500)), Is.Not.Empty,
                "a lost INVITE delays its answer by T1 at least");
        });
    }

    private async Task<IReadOnlyList<CallRecord>> CallsAsync(IPEndPoint target, int count)
    {
        var options = new CallOptions { Transport = SipTransportKind.Udp, HoldTime = TimeSpan.FromMilliseconds(50) };
        var calls = new List<Task<CallRecord>>();
        for (var i = 0; i < count; i++)
        {
            calls.Add(_uac.CallAsync(target, options));
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static List<double> SetupTimes(IEnumerable<CallRecord> calls) =>
        [.. calls.Where(call => call.TimeToAnswer is not null).Select(call => call.TimeToAnswer!.Value.TotalMilliseconds).Order()];
}
