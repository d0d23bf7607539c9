using System.Net;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// SIP over UDP on the containers environment (environments/containers.yaml in 10.231.45–47.0/24, balancer
/// 127.0.0.238, <c>transport: udp</c>, the balancer's access links on): Kamailio's dispatcher on this machine reaches each
/// region's proxy in its container through a UDP access link (a datagram relay of the link server); latency on Lagos's
/// access link shows in Lagos's call setup times and nowhere else; Lagos lost with its container, the dispatcher stops
/// sending it calls by itself and the survivors answer every call once the stores have failed over.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class ContainersUdpSipTests
{
    private const string LagosAccess = "balancer-lagos-sip";
    private static readonly IPAddress Caller = IPAddress.Parse("127.0.238.10");
    private static readonly TimeSpan Hold = TimeSpan.FromMilliseconds(50);

    private static readonly EnvironmentDefinition Environment = EnvironmentLoader.Parse(
        LocalEnvironmentInBlocks.ContainersYaml(45, 238)
            .Replace("  transport: tcp ", "  transport: udp ", StringComparison.Ordinal)
            .Replace("  mode: roundrobin", "  mode: roundrobin\n  access_links: { latency: 10ms }", StringComparison.Ordinal),
        "containers in 10.231.45-47, udp", "ci");

    private LocalTopology _topology = null!;
    private SipUserAgentClient _uac = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _topology = await ContainersTestTopology.StartAsync(Environment);
        _uac = new SipUserAgentClient(new SipUacOptions { UdpEndPoint = new IPEndPoint(Caller, 0) });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_uac is not null)
        {
            await _uac.DisposeAsync();
        }

        if (_topology is not null)
        {
            await _topology.DisposeAsync();
        }
    }

    [Test]
    [Order(1)]
    public async Task Latency_on_lagos_udp_access_link_shows_in_lagos_call_setup_and_nowhere_else()
    {
        var before = await CallsAsync(60);
        await _topology.ShapeLinkAsync(LagosAccess, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)) with { Name = "wan-up", Stream = "upstream" });
        await _topology.ShapeLinkAsync(LagosAccess, ToxicSpec.Latency(TimeSpan.FromMilliseconds(40)) with { Name = "wan-down", Stream = "downstream" });
        var after = await CallsAsync(60);
        await _topology.UnshapeLinkAsync(LagosAccess);

        // The link's latency is a floor every call pays, so the fastest setup moves by it; the medians also move with
        // whatever else the shared 2 cores do meanwhile (seen: a baseline slowed by another lane's start, 68 ms apart).
        var lagos = (Before: SetupTime(before, "lagos", Fastest), After: SetupTime(after, "lagos", Fastest));
        var abuja = (Before: SetupTime(before, "abuja", Fastest), After: SetupTime(after, "abuja", Fastest));
        var asaba = (Before: SetupTime(before, "asaba", Fastest), After: SetupTime(after, "asaba", Fastest));
        TestContext.Out.WriteLine($"setup fastest lagos {lagos.Before:F1} → {lagos.After:F1} ms, abuja {abuja.Before:F1} → {abuja.After:F1} ms, asaba {asaba.Before:F1} → {asaba.After:F1} ms; " +
                                  $"p50 lagos {SetupTime(before, "lagos", Median):F1} → {SetupTime(after, "lagos", Median):F1} ms " +
                                  $"(40 ms each way on {LagosAccess}); regions {string.Join(", ", before.GroupBy(call => call.Region).Select(group => $"{group.Key} {group.Count()}"))}");
        Assert.Multiple(() =>
        {
            Assert.That(before.Concat(after).Where(call => !call.Succeeded).Select(call => $"{call.Region}: {call.Outcome}: {call.FailureReason}"), Is.Empty);
            Assert.That(before.Count(call => call.Region == "lagos"), Is.InRange(36, 48), "the dispatcher's relative weights: 70 % of 60");
            Assert.That(before.Select(call => call.Region).Distinct(), Is.EquivalentTo(new[] { "lagos", "abuja", "asaba" }));
            // The INVITE goes up the link and the 200 comes down it: every Lagos setup pays both directions.
            Assert.That(lagos.After - lagos.Before, Is.InRange(80 - 10, 80 + 25));
            Assert.That(abuja.After - abuja.Before, Is.InRange(-15, 15), "Abuja's path has no new latency");
            Assert.That(asaba.After - asaba.Before, Is.InRange(-15, 15), "Asaba's path has no new latency");
        });
    }

    [Test]
    [Order(2)]
    public async Task Lagos_lost_with_its_container_the_dispatcher_stops_sending_it_calls_by_itself()
    {
        var lost = await _topology.KillRegionAsync("lagos");
        // Observed, never done: the dispatcher's own OPTIONS probes mark Lagos inactive; the stores fail over by themselves.
        var detected = await _topology.Sip.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, Environment.DetectionTime + TimeSpan.FromSeconds(10));
        await _topology.Postgres.WaitUntilPrimaryOutsideAsync("lagos", Environment.Database.WorstFailover + TimeSpan.FromSeconds(15));
        var calls = await CallsAsync(40);

        TestContext.Out.WriteLine($"lagos down at the dispatcher after {System.Diagnostics.Stopwatch.GetElapsedTime(lost.StartedAt, detected).TotalSeconds:F1} s; " +
                                  $"{calls.Count(call => call.Succeeded)}/{calls.Count} answered: {string.Join(", ", calls.GroupBy(call => call.Region).Select(group => $"{group.Key} {group.Count()}"))}");
        Assert.Multiple(() =>
        {
            Assert.That(calls.Where(call => !call.Succeeded).Select(call => $"{call.Region}: {call.Outcome}: {call.FailureReason}"), Is.Empty);
            Assert.That(calls.Select(call => call.Region).Distinct(), Is.EquivalentTo(new[] { "abuja", "asaba" }));
        });
    }

    private Task<IReadOnlyList<CallRecord>> CallsAsync(int count) => ContainersTestTopology.CallsAsync(
        _uac, Environment.Balancer.SipEndPoint, count, new CallOptions { Transport = SipTransportKind.Udp, LocalAddress = Caller, HoldTime = Hold });

    /// <summary>One statistic of the setup times (ms, in order) of the calls <paramref name="region"/> answered; NaN for none.</summary>
    private static double SetupTime(IEnumerable<CallRecord> calls, string region, Func<List<double>, double> statistic)
    {
        var times = calls.Where(call => call.Region == region && call.TimeToAnswer is not null)
            .Select(call => call.TimeToAnswer!.Value.TotalMilliseconds).Order().ToList();
        return times.Count == 0 ? double.NaN : statistic(times);
    }

    private static double Fastest(List<double> ordered) => ordered[0];

    private static double Median(List<double> ordered) => ordered[ordered.Count / 2];
}
