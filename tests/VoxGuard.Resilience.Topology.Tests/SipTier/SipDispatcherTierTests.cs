using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>
/// The SIP tier over UDP: SIPp callers → Kamailio's dispatcher (127.0.0.94:5060, algorithm 11) → Kamailio per region →
/// engine stand-ins, blocks 127.0.94–96.x, ci profile (pings every 1 s: the dispatcher counts whole seconds).
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class SipDispatcherTierTests
{
    private static readonly EnvironmentDefinition Environment = SipEnvironments.InBlocks(94, transport: "udp");
    private static readonly string[] Regions = [.. Environment.Regions.Select(region => region.Name)];

    private RunningSipTier _sip = null!;
    private RunDirectory _run = null!;
    private SipProxyTier _tier = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _sip = await RunningSipTier.StartAsync(Environment);
        (_run, _tier) = (_sip.Run, _sip.Tier);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_sip is not null)
        {
            await _sip.DisposeAsync();
        }
    }

    [SetUp]
    public async Task RestoreAsync()
    {
        foreach (var region in Environment.Regions)
        {
            if (_tier.Proxies[region.Name].HasExited)
            {
                await _tier.RestartProxyAsync(region.Name);
            }

        }

        var states = await _tier.BalancerStatesAsync();
        if (states.Any(state => state.Weight != Environment.Region(state.Region).Weight))
        {
            await _tier.SetWeightsAsync(Environment.Regions.ToDictionary(region => region.Name, region => region.Weight));
        }

        foreach (var region in Regions)
        {
            await _tier.WaitUntilStateAsync(region, BalancerServerStatus.Up, TimeSpan.FromSeconds(15));
        }
    }

    [Test]
    public async Task Calls_over_udp_complete_through_the_dispatcher_and_split_by_relative_weight()
    {
        var states = await _tier.BalancerStatesAsync();
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 300, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine($"UDP, 300 calls at 50 CPS: {result.Successful} completed, {result.Failed} failed; {result.Split(Regions)}");

        Assert.Multiple(() =>
        {
            Assert.That(states.Select(state => (state.Region, state.Status, state.Weight)),
                Is.EqualTo(Environment.Regions.Select(region => (region.Name, BalancerServerStatus.Up, region.Weight))));
            Assert.That(result.ExitCode, Is.Zero, string.Join('\n', result.Errors));
            Assert.That(result.Successful, Is.EqualTo(300));
            Assert.That(result.RegionByCall, Has.Count.EqualTo(300), "every 200 carried the region header");
            Assert.That(result.PercentOf("lagos"), Is.EqualTo(70).Within(5));
            Assert.That(result.PercentOf("abuja"), Is.EqualTo(15).Within(5));
            Assert.That(result.PercentOf("asaba"), Is.EqualTo(15).Within(5));
        });
    }

    [Test]
    public async Task Killing_lagos_proxy_makes_the_dispatcher_mark_it_inactive_and_spread_calls_over_the_others()
    {
        var killed = await _tier.Proxies["lagos"].KillAsync();
        var down = await _tier.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, TimeSpan.FromSeconds(15));
        var detection = TimeProvider.System.GetElapsedTime(killed.ExitedAt, down);
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 200, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dispatcher marked lagos inactive {detection.TotalMilliseconds:F0} ms after its proxy died; then {result.Split(Regions)}"));

        var pings = TimeSpan.FromSeconds(KamailioConfig.PingSeconds(Environment.Balancer.HealthCheck.Interval));
        Assert.Multiple(() =>
        {
            Assert.That(detection, Is.LessThan((pings * (Environment.Balancer.HealthCheck.Fall + 1)) + Environment.Balancer.HealthCheck.Timeout + TimeSpan.FromSeconds(1)));
            Assert.That(result.Successful, Is.EqualTo(200));
            Assert.That(result.PerRegion.ContainsKey("lagos"), Is.False);
            Assert.That(result.PercentOf("abuja"), Is.EqualTo(50).Within(10), "relative weights re-spread over the live regions");
        });
    }

    [Test]
    public async Task Calls_sent_to_lagos_after_its_proxy_died_are_redispatched_and_trip_the_circuit_breaker_before_the_pings_notice()
    {
        var caller = await SippCaller.StartAsync(_run, _tier, calls: 250, rate: 50);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var killed = await _tier.Proxies["lagos"].KillAsync();
        var down = await _tier.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, TimeSpan.FromSeconds(15));
        var result = await caller.WaitAsync();
        var killedAt = caller.CallNumberAt(killed.ExitedAt);
        var downAt = caller.CallNumberAt(down);
        var window = result.RegionByCall.Where(pair => pair.Key > killedAt + 5 && pair.Key < downAt).Select(pair => pair.Value).ToList();
        var detection = TimeProvider.System.GetElapsedTime(killed.ExitedAt, down);
        var lagos = Environment.Region("lagos").Sip;
        var breaker = Environment.Balancer.CircuitBreaker.FailuresToOpen;
        var said = _tier.Balancer.StandardErrorTail.LastOrDefault(line => line.Contains("circuit breaker:", StringComparison.Ordinal)) ?? "(no circuit breaker line)";
        var pings = TimeSpan.FromSeconds(KamailioConfig.PingSeconds(Environment.Balancer.HealthCheck.Interval)) * Environment.Balancer.HealthCheck.Fall;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"UDP, lagos killed at call ~{killedAt}, marked inactive at call ~{downAt}, {detection.TotalMilliseconds:F0} ms later (the pings alone: {pings.TotalMilliseconds:F0} ms or more): "
            + $"{result.Successful} completed, {result.Failed} failed; {window.Count} calls answered in between, none by lagos: {!window.Contains("lagos")}; the dispatcher said: {said}"));

        Assert.Multiple(() =>
        {
            Assert.That(said, Does.Contain($"circuit breaker: lagos ({lagos.Address}:{lagos.UdpPort}) marked down after {breaker} calls in a row without a reply"),
                "the calls lagos left unanswered tripped the circuit breaker");
            Assert.That(detection, Is.LessThan(pings), "before the pings could have noticed");
            Assert.That(window, Has.None.EqualTo("lagos"));
            Assert.That(result.Successful + result.Failed, Is.EqualTo(250));
            Assert.That(result.Failed, Is.LessThanOrEqualTo(5), "redispatch (failure route, ds_next_dst) loses only calls in progress on lagos at the kill");
        });
    }

    [Test]
    public async Task Changing_a_weight_reloads_the_dispatcher_and_keeps_every_region_up()
    {
        await _tier.SetWeightsAsync(new Dictionary<string, int> { ["lagos"] = 20, ["abuja"] = 40, ["asaba"] = 40 });
        var states = await _tier.BalancerStatesAsync();
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 200, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine($"UDP, weights 20/40/40: {result.Split(Regions)}");

        Assert.Multiple(() =>
        {
            Assert.That(states.Select(state => state.Weight), Is.EqualTo(new[] { 20, 40, 40 }));
            Assert.That(states.All(state => state.IsUp), Is.True, "the reload kept the regions' states");
            Assert.That(result.Successful, Is.EqualTo(200));
            Assert.That(result.PercentOf("lagos"), Is.EqualTo(20).Within(6));
            Assert.That(result.PercentOf("abuja"), Is.EqualTo(40).Within(6));
        });
    }
}
