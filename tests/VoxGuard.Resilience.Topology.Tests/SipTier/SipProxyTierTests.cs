using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>
/// The SIP tier over TCP with real servers: SIPp callers → HAProxy (127.0.0.91:5060) → Kamailio per region → SIPp engine
/// stand-ins, blocks 127.0.91–93.x, the ci profile's health checks (500 ms, rise 2, fall 3). Started once for the fixture;
/// every test starts from every region up at its documented weight.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class SipProxyTierTests
{
    private static readonly EnvironmentDefinition Environment = SipEnvironments.InBlocks(91);
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

    /// <summary>Restores the topology: every proxy running, every weight as documented, every region up.</summary>
    [SetUp]
    public async Task RestoreAsync()
    {
        foreach (var region in Environment.Regions)
        {
            if (_tier.Engines[region.Name].HasExited)
            {
                await _tier.RestartEngineAsync(region.Name);
            }

            if (_tier.Proxies[region.Name].HasExited)
            {
                await _tier.RestartProxyAsync(region.Name);
            }

            await _tier.SetAdminStateAsync(region.Name, BalancerAdminState.Ready);
            await _tier.SetWeightAsync(region.Name, region.Weight);
        }

        foreach (var region in Regions)
        {
            await _tier.WaitUntilStateAsync(region, BalancerServerStatus.Up, TimeSpan.FromSeconds(10));
        }
    }

    [Test]
    public async Task The_balancer_reports_every_region_up_with_its_weight_after_a_passed_sip_options_check()
    {
        var states = await _tier.BalancerStatesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(states.Select(state => state.Region), Is.EqualTo(Regions));
            foreach (var region in Environment.Regions)
            {
                var state = states.Single(candidate => candidate.Region == region.Name);
                Assert.That(state.Status, Is.EqualTo(BalancerServerStatus.Up), region.Name);
                Assert.That(state.Weight, Is.EqualTo(region.Weight), region.Name);
                Assert.That(state.CheckStatus, Is.EqualTo("L7OK"), $"{region.Name}: the SIP OPTIONS check got its 200");
            }

            Assert.That(_tier.Engines.Keys, Is.EquivalentTo(Regions));
            Assert.That(_tier.Proxies.Values.All(process => !process.HasExited), Is.True);
            Assert.That(_tier.Balancer.HasExited, Is.False);
        });
    }

    [Test]
    public void Waiting_for_a_state_that_never_comes_times_out_with_the_last_state_seen()
    {
        var timedOut = Assert.ThrowsAsync<TimeoutException>(() => _tier.WaitUntilStateAsync("abuja", BalancerServerStatus.Down, TimeSpan.FromMilliseconds(300)))!;

        Assert.That(timedOut.Message, Does.Contain("abuja Down").And.Contain("last seen: UP (check L7OK)"));
    }

    [Test]
    public async Task Every_call_completes_through_the_balancer_and_the_regions_split_70_15_15()
    {
        var before = await EngineCallsAsync();
        var caller = await SippCaller.StartAsync(_run, _tier, calls: 300, rate: 50);
        var result = await caller.WaitAsync();
        TestContext.Out.WriteLine($"300 calls at 50 CPS: {result.Successful} completed, {result.Failed} failed; {result.Split(Regions)}");
        var after = await EngineCallsAsync();
        var perEngine = after.Where(pair => pair.Value > before[pair.Key]).ToDictionary(pair => pair.Key, pair => pair.Value - before[pair.Key], StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, string.Join('\n', result.Errors));
            Assert.That(result.Successful, Is.EqualTo(300));
            Assert.That(result.Failed, Is.Zero);
            Assert.That(result.RegionByCall, Has.Count.EqualTo(300), "every 200 carried the region header");
            Assert.That(result.PercentOf("lagos"), Is.EqualTo(70).Within(3));
            Assert.That(result.PercentOf("abuja"), Is.EqualTo(15).Within(3));
            Assert.That(result.PercentOf("asaba"), Is.EqualTo(15).Within(3));
            Assert.That(perEngine, Is.EquivalentTo(result.PerRegion), "each region's engine took exactly the calls its header claimed");
        });
    }

    [Test]
    public async Task Killing_lagos_proxy_under_calls_trips_the_circuit_breaker_before_its_checks_fall_and_the_calls_spread_over_abuja_and_asaba()
    {
        var caller = await SippCaller.StartAsync(_run, _tier, calls: 300, rate: 50);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var killed = await _tier.Proxies["lagos"].KillAsync();
        var down = await _tier.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, TimeSpan.FromSeconds(10));
        var detection = TimeProvider.System.GetElapsedTime(killed.ExitedAt, down);
        var result = await caller.WaitAsync();
        var states = await _tier.BalancerStatesAsync();

        // Calls placed after the balancer saw lagos down (with a margin for pacing).
        var firstAfterDown = caller.CallNumberAt(down) + 10;
        var afterDown = result.RegionByCall.Where(pair => pair.Key >= firstAfterDown).Select(pair => pair.Value).ToList();
        var abujaShare = 100.0 * afterDown.Count(region => region == "abuja") / Math.Max(1, afterDown.Count);
        var why = DownLine("lagos");
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lagos marked down {detection.TotalMilliseconds:F0} ms after its proxy died (its checks alone: up to {Environment.DetectionTime.TotalMilliseconds:F0} ms = interval × fall); "
            + $"{result.Successful} completed, {result.Failed} failed; {afterDown.Count} calls after down: abuja {abujaShare:F1} %, asaba {100 - abujaShare:F1} %; the balancer said: {why}"));

        Assert.Multiple(() =>
        {
            Assert.That(why, Does.Contain("reason: Health analyze").And.Contain($"Detected {Environment.Balancer.CircuitBreaker.FailuresToOpen} consecutive errors"),
                "HAProxy's circuit breaker (observe layer4) marked it down: calls' connections failed 5 times in a row");
            Assert.That(detection, Is.LessThan(Environment.DetectionTime), "before the checks could have");
            Assert.That(states.Single(state => state.Region == "lagos").CheckStatus, Does.StartWith("L4").Or.StartWith("L7"), "its checks failed since");
            Assert.That(states.Where(state => state.Region != "lagos").All(state => state.IsUp), Is.True);
            Assert.That(afterDown, Has.Count.GreaterThan(100));
            Assert.That(afterDown, Has.None.EqualTo("lagos"));
            Assert.That(abujaShare, Is.EqualTo(50).Within(10), "abuja and asaba have equal weights");
            Assert.That(result.Successful + result.Failed, Is.EqualTo(300));
            Assert.That(result.Failed, Is.LessThanOrEqualTo(6), "with redispatch only calls in progress on lagos at the kill are lost");
        });
    }

    [Test]
    public async Task A_restarted_proxy_is_marked_up_after_rise_checks_and_takes_its_share_again()
    {
        var killed = await _tier.Proxies["asaba"].KillAsync();
        var down = await _tier.WaitUntilStateAsync("asaba", BalancerServerStatus.Down, TimeSpan.FromSeconds(10));
        var detection = TimeProvider.System.GetElapsedTime(killed.ExitedAt, down);
        var why = DownLine("asaba");

        var restarted = TimeProvider.System.GetTimestamp();
        await _tier.RestartProxyAsync("asaba");
        var up = await _tier.WaitUntilStateAsync("asaba", BalancerServerStatus.Up, TimeSpan.FromSeconds(10));
        var recovery = TimeProvider.System.GetElapsedTime(restarted, up);
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 100, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"asaba down {detection.TotalMilliseconds:F0} ms after its proxy died with no calls ({why}); up {recovery.TotalMilliseconds:F0} ms after its proxy restarted (rise {Environment.Balancer.HealthCheck.Rise} × {Environment.Balancer.HealthCheck.Interval.TotalMilliseconds:F0} ms); {result.Split(Regions)}"));

        Assert.Multiple(() =>
        {
            Assert.That(why, Does.Contain("reason: Layer4").Or.Contain("reason: Layer7"), "with no calls to trip the circuit breaker, its checks marked it down");
            Assert.That(detection, Is.GreaterThan(Environment.Balancer.HealthCheck.Interval), "after more than one failed check");
            Assert.That(recovery, Is.LessThan(Environment.Balancer.HealthCheck.RecoveryTime + Environment.Balancer.HealthCheck.Interval + TimeSpan.FromMilliseconds(500)));
            Assert.That(result.Successful, Is.EqualTo(100));
            Assert.That(result.PercentOf("asaba"), Is.EqualTo(15).Within(5));
        });
    }

    // The balancer's latest line saying why a region went down (HAProxy logs each change of state on its standard error).
    private string DownLine(string region) =>
        _tier.Balancer.StandardErrorTail.LastOrDefault(line => line.Contains($"/{region} is DOWN", StringComparison.Ordinal)) ?? "(no DOWN line)";

    [Test]
    public async Task A_dead_engine_behind_a_live_proxy_stays_up_in_the_balancer_and_its_share_of_calls_fails()
    {
        await _tier.Engines["asaba"].KillAsync();
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 100, rate: 50)).WaitAsync();
        var asaba = await _tier.BalancerStateAsync("asaba");
        TestContext.Out.WriteLine($"asaba's engine dead: {result.Successful} completed, {result.Failed} failed; {result.Split(Regions)}; balancer: asaba {asaba.RawStatus} {asaba.CheckStatus}");

        Assert.Multiple(() =>
        {
            Assert.That(asaba.Status, Is.EqualTo(BalancerServerStatus.Up), "the health check is answered by the proxy, not the engine");
            Assert.That(result.Failed, Is.EqualTo(15).Within(3), "asaba's share");
            Assert.That(result.Successful + result.Failed, Is.EqualTo(100));
            Assert.That(result.PerRegion.ContainsKey("asaba"), Is.False);
        });
    }

    [Test]
    public async Task Changing_weights_at_runtime_changes_the_split()
    {
        await _tier.SetWeightAsync("lagos", 20);
        await _tier.SetWeightAsync("abuja", 40);
        await _tier.SetWeightAsync("asaba", 40);
        var weights = (await _tier.BalancerStatesAsync()).ToDictionary(state => state.Region, state => state.Weight);
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 200, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine($"weights 20/40/40: {result.Split(Regions)}");

        Assert.Multiple(() =>
        {
            Assert.That(weights, Is.EquivalentTo(new Dictionary<string, int> { ["lagos"] = 20, ["abuja"] = 40, ["asaba"] = 40 }));
            Assert.That(result.Successful, Is.EqualTo(200));
            Assert.That(result.PercentOf("lagos"), Is.EqualTo(20).Within(4));
            Assert.That(result.PercentOf("abuja"), Is.EqualTo(40).Within(4));
            Assert.That(result.PercentOf("asaba"), Is.EqualTo(40).Within(4));
        });
    }

    [TestCase(BalancerAdminState.Maintenance, BalancerServerStatus.Maintenance)]
    [TestCase(BalancerAdminState.Drain, BalancerServerStatus.Draining)]
    public async Task A_region_taken_out_by_an_operator_takes_no_new_calls_and_returns_when_ready(BalancerAdminState admin, BalancerServerStatus expected)
    {
        await _tier.SetAdminStateAsync("abuja", admin);
        var taken = await _tier.BalancerStateAsync("abuja");
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 100, rate: 50)).WaitAsync();
        await _tier.SetAdminStateAsync("abuja", BalancerAdminState.Ready);
        await _tier.WaitUntilStateAsync("abuja", BalancerServerStatus.Up, TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"abuja {taken.RawStatus}: {result.Split(Regions)}");

        Assert.Multiple(() =>
        {
            Assert.That(taken.Status, Is.EqualTo(expected));
            Assert.That(result.Successful, Is.EqualTo(100));
            Assert.That(result.PerRegion.ContainsKey("abuja"), Is.False);
            Assert.That(result.PercentOf("lagos"), Is.EqualTo(100.0 * 70 / 85).Within(4));
        });
    }

    /// <summary>
    /// The calls each engine stand-in has taken so far (SIPp's IncomingCall(C) counter), from a dump written after this
    /// call began: SIPp dumps its counters once a second, so an older line could miss the latest calls.
    /// </summary>
    private async Task<Dictionary<string, int>> EngineCallsAsync()
    {
        var files = Environment.Regions.ToDictionary(region => region.Name, region => EngineStandIn.StatisticsFile(_run, region), StringComparer.Ordinal);
        var dumps = files.ToDictionary(pair => pair.Key, pair => File.ReadAllLines(pair.Value).Length, StringComparer.Ordinal);
        await WaitStrategy.UntilAsync(
            _ => Task.FromResult(files.All(pair => File.ReadAllLines(pair.Value).Length > dumps[pair.Key])),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), "every engine stand-in to dump its counters again");
        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (region, file) in files)
        {
            calls[region] = (await SippStatistics.LastAsync(file)).GetValueOrDefault("IncomingCall(C)");
        }

        return calls;
    }
}
