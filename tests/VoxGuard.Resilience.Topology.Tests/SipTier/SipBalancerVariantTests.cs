using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>
/// HAProxy without redispatch (blocks 127.0.97–99.x, balancer 127.0.0.97): calls sent to a dead region before it is
/// marked down are lost — what <c>redispatch: true</c> prevents (<see cref="SipProxyTierTests"/> loses none). Under
/// calls, the circuit breaker marks it down after its 5 failed connections, so those are the calls lost.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class SipBalancerWithoutRedispatchTests
{
    private static readonly EnvironmentDefinition Environment = SipEnvironments.InBlocks(97, redispatch: false);

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

    [Test]
    public async Task Calls_sent_to_a_killed_region_before_it_is_marked_down_are_lost()
    {
        var caller = await SippCaller.StartAsync(_run, _tier, calls: 250, rate: 50);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var killed = await _tier.Proxies["lagos"].KillAsync();
        var down = await _tier.WaitUntilStateAsync("lagos", BalancerServerStatus.Down, TimeSpan.FromSeconds(10));
        var result = await caller.WaitAsync();
        var window = caller.CallNumberAt(down) - caller.CallNumberAt(killed.ExitedAt);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"no redispatch: {window} calls placed between the kill and DOWN; {result.Successful} completed, {result.Failed} failed"));

        Assert.Multiple(() =>
        {
            Assert.That(result.Successful + result.Failed, Is.EqualTo(250));
            Assert.That(result.Failed, Is.EqualTo(window * 0.7).Within((window * 0.35) + 3), "lagos's 70 % of the calls placed before DOWN");
            Assert.That(result.Failed, Is.GreaterThanOrEqualTo(Environment.Balancer.CircuitBreaker.FailuresToOpen),
                "each connection the circuit breaker counted before it opened was a call lost");
            Assert.That(result.Failed, Is.LessThan(Environment.Balancer.CircuitBreaker.FailuresToOpen + 5), "and few more: those in progress on lagos at the kill");
        });
    }
}

/// <summary>
/// HAProxy with <c>balance source</c> (blocks 127.0.101–103.x, balancer 127.0.0.101): every call from one client address
/// lands in one region, whatever the weights — the luck of the hash the environment file warns about.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class SipBalancerSourceHashingTests
{
    private static readonly EnvironmentDefinition Environment = SipEnvironments.InBlocks(101, mode: "source");

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

    [Test]
    public async Task One_client_address_sends_every_call_to_the_same_region()
    {
        var result = await (await SippCaller.StartAsync(_run, _tier, calls: 100, rate: 50)).WaitAsync();
        TestContext.Out.WriteLine($"balance source, one client address: {result.Split(Environment.Regions.Select(region => region.Name))}");

        Assert.Multiple(() =>
        {
            Assert.That(result.Successful, Is.EqualTo(100));
            Assert.That(result.PerRegion, Has.Count.EqualTo(1), "one source address, one hash, one region");
        });
    }
}
