using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>
/// The balancer's access links (<c>balancer.access_links</c>): the SIP tier with every message between the global
/// balancer and a region's proxy crossing <c>balancer-&lt;region&gt;-sip</c> on the link server. Our UAC calls through the
/// balancer; a toxic on Lagos's access link shows in Lagos's calls only. Blocks 127.0.251–253.x, balancer 127.0.250.1,
/// ci profile; one SIP tier per fixture.
/// </summary>
public abstract class BalancerAccessLinkTests(string transport)
{
    protected const string LagosAccess = "balancer-lagos-sip";

    /// <summary>The round trip every access link carries (half each way), as the environment says.</summary>
    protected static readonly TimeSpan AccessLatency = TimeSpan.FromMilliseconds(10);

    private static readonly IPAddress Caller = IPAddress.Parse("127.0.250.10");
    private static readonly TimeSpan Hold = TimeSpan.FromMilliseconds(50);

    private RunDirectory? _run;
    private LinkServer? _linkServer;
    private LinkClient? _client;

    protected EnvironmentDefinition Environment { get; } = SipEnvironments.InBlocks(251, transport: transport,
        yaml: TinyEnvironmentInBalancerBlock(), accessLinks: string.Create(CultureInfo.InvariantCulture, $"{{ latency: {AccessLatency.TotalMilliseconds}ms }}"));

    protected SipProxyTier Tier { get; private set; } = null!;

    protected InterRegionLinks Links { get; private set; } = null!;

    protected SipUserAgentClient Uac { get; private set; } = null!;

    protected SipTransportKind Transport => Environment.Balancer.Transport == BalancerTransport.Udp ? SipTransportKind.Udp : SipTransportKind.Tcp;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _run = RunDirectory.Create();
        _linkServer = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0), RandomSeed = 42 });
        await _linkServer.StartAsync();
        _client = new LinkClient(_linkServer.ApiAddress);
        Links = new InterRegionLinks(_client, Environment);
        await Links.ApplyAsync();
        Tier = await SipProxyTier.StartAsync(Environment, _run);
        Uac = new SipUserAgentClient(new SipUacOptions { UdpEndPoint = new IPEndPoint(Caller, 0) });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (Uac is not null)
        {
            await Uac.DisposeAsync();
        }

        if (Tier is not null)
        {
            await Tier.DisposeAsync();
        }

        _client?.Dispose();
        if (_linkServer is not null)
        {
            await _linkServer.DisposeAsync();
        }

        if (_run is not null)
        {
            await _run.DisposeAsync();
        }
    }

    [SetUp]
    public async Task RestoreAsync()
    {
        await Links.UnshapeAsync(LagosAccess);
        await Tier.WaitUntilEveryRegionUpAsync();
    }

    [Test]
    public async Task Latency_on_lagos_access_link_shows_in_lagos_call_setup_and_nowhere_else()
    {
        var before = await CallsAsync(60);
        await Links.ShapeAsync(LagosAccess, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)) with { Name = "wan-up", Stream = "upstream" });
        await Links.ShapeAsync(LagosAccess, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)) with { Name = "wan-down", Stream = "downstream" });
        var after = await CallsAsync(60);

        var lagos = (Before: Median(before, "lagos"), After: Median(after, "lagos"));
        var lagosTeardown = (Before: MedianTeardown(before, "lagos"), After: MedianTeardown(after, "lagos"));
        var abuja = (Before: Median(before, "abuja"), After: Median(after, "abuja"));
        var asaba = (Before: Median(before, "asaba"), After: Median(after, "asaba"));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{transport}: setup p50 lagos {lagos.Before:F1} → {lagos.After:F1} ms, abuja {abuja.Before:F1} → {abuja.After:F1} ms, asaba {asaba.Before:F1} → {asaba.After:F1} ms; lagos BYE → 200 p50 {lagosTeardown.Before:F1} → {lagosTeardown.After:F1} ms (40 ms each way on {LagosAccess})"));
        Assert.Multiple(() =>
        {
            Assert.That(before.Concat(after).Where(call => !call.Succeeded).Select(call => $"{call.Outcome}: {call.FailureReason}"), Is.Empty);
            Assert.That(before.Concat(after).Select(call => call.Region), Has.All.Not.Null, "every call's answer named its region");
            // The INVITE goes up the link and the 200 comes down it: the setup pays both directions once. No call beats
            // the link (80 ms more than its documented round trip); the medians' difference allows for a baseline the
            // shared host slowed (seen: 16.3 ms where 13–14 ms is usual).
            Assert.That(Fastest(after, "lagos"), Is.GreaterThanOrEqualTo(80 + AccessLatency.TotalMilliseconds - 1), "no Lagos call is set up faster than the link allows");
            Assert.That(lagos.After - lagos.Before, Is.InRange(80 - 10, 80 + 25));
            // The BYE follows the route set (the balancer, then the link's address the proxy record-routed): it pays the
            // round trip too, and so does the ACK, which takes the same route.
            Assert.That(lagosTeardown.After - lagosTeardown.Before, Is.InRange(80 - 10, 80 + 25), "the BYE and its 200 cross the link");
            Assert.That(abuja.After - abuja.Before, Is.InRange(-15, 15), "Abuja's path has no new latency");
            Assert.That(asaba.After - asaba.Before, Is.InRange(-15, 15), "Asaba's path has no new latency");
        });
    }

    /// <summary>Calls at 20 per second through the balancer, held 50 ms; every one awaited.</summary>
    protected async Task<IReadOnlyList<CallRecord>> CallsAsync(int count)
    {
        var options = new CallOptions { Transport = Transport, LocalAddress = Caller, HoldTime = Hold };
        var calls = new List<Task<CallRecord>>();
        for (var i = 0; i < count; i++)
        {
            calls.Add(Uac.CallAsync(Tier.SipEndPoint, options));
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>The median setup time (INVITE sent → 200 received) of the calls <paramref name="region"/> answered, in ms.</summary>
    protected static double Median(IEnumerable<CallRecord> calls, string region)
    {
        var times = calls.Where(call => call.Region == region && call.TimeToAnswer is not null)
            .Select(call => call.TimeToAnswer!.Value.TotalMilliseconds).Order().ToList();
        return times.Count == 0 ? double.NaN : times[times.Count / 2];
    }

    private static double Fastest(IEnumerable<CallRecord> calls, string region) =>
        calls.Where(call => call.Region == region && call.TimeToAnswer is not null).Min(call => call.TimeToAnswer!.Value.TotalMilliseconds);

    /// <summary>The median time from the BYE to its 200 (the call's end, less its setup and its hold) of <paramref name="region"/>'s calls, in ms.</summary>
    private static double MedianTeardown(IEnumerable<CallRecord> calls, string region)
    {
        var times = calls.Where(call => call.Region == region && call.TimeToAnswer is not null)
            .Select(call => (call.Duration - call.TimeToAnswer!.Value - Hold).TotalMilliseconds).Order().ToList();
        return times.Count == 0 ? double.NaN : times[times.Count / 2];
    }

    // The balancer on 127.0.250.1, beside the fixture's blocks (SipEnvironments puts it at 127.0.0.<lagos octet>).
    private static string TinyEnvironmentInBalancerBlock() =>
        Support.TinyEnvironment.Yaml.Replace("address: 127.0.0.10", "address: 127.0.250.1", StringComparison.Ordinal);
}

/// <summary>The UDP balancer (Kamailio's dispatcher) through UDP access links.</summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class DispatcherAccessLinkTests() : BalancerAccessLinkTests("udp")
{
    [Test]
    public async Task Loss_on_lagos_access_link_shows_as_retransmissions_and_calls_still_complete()
    {
        await Links.ShapeAsync(LagosAccess, ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "wan-loss", Stream = "upstream", Toxicity = 0.3 });
        var calls = await CallsAsync(80);

        var lagos = calls.Where(call => call.Region == "lagos").ToList();
        var others = calls.Where(call => call.Region != "lagos").ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{calls.Count(call => call.Succeeded)}/{calls.Count} completed; lagos answered {lagos.Count} with {lagos.Sum(call => call.Retransmissions)} retransmissions ({lagos.Count(call => call.Retransmissions > 0)} calls), the others {others.Count} with {others.Sum(call => call.Retransmissions)}"));
        foreach (var failed in calls.Where(call => !call.Succeeded))
        {
            TestContext.Out.WriteLine($"  {failed.Region}: {failed.Outcome} {failed.StatusCode} {failed.ByeStatusCode} {failed.FailureReason}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(calls.Where(call => !call.Succeeded).Select(call => $"{call.Region}: {call.Outcome}: {call.FailureReason}"), Is.Empty,
                "SIP over UDP recovers from loss by retransmitting");
            Assert.That(lagos.Sum(call => call.Retransmissions), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task A_blackholed_access_link_takes_lagos_out_of_the_dispatcher_and_its_calls_go_elsewhere()
    {
        await Links.ShapeAsync(LagosAccess, ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "wan-blackhole-up", Stream = "upstream" });
        await Links.ShapeAsync(LagosAccess, ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "wan-blackhole-down", Stream = "downstream" });
        await Tier.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, TimeSpan.FromSeconds(10));
        var calls = await CallsAsync(40);

        Assert.Multiple(() =>
        {
            Assert.That(calls.Where(call => !call.Succeeded).Select(call => $"{call.Outcome}: {call.FailureReason}"), Is.Empty);
            Assert.That(calls.Select(call => call.Region), Has.None.EqualTo("lagos"));
        });
    }
}

/// <summary>The TCP balancer (HAProxy) through TCP access links.</summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class HaproxyAccessLinkTests() : BalancerAccessLinkTests("tcp");
