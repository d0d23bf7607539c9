using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Links;

/// <summary>
/// One link-facing address per service, routed by the caller's region: real sockets bound to source addresses in
/// each region's block, a real link server, an echo peer standing in for Lagos's Redis. Blocks 127.0.61–63.x.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LinkSwitchboardTests
{
    private static readonly EnvironmentDefinition Environment = RunningLinks.TinyEnvironmentInBlocks(61);
    private static readonly IPAddress InLagos = IPAddress.Parse("127.0.61.50");
    private static readonly IPAddress InAbuja = IPAddress.Parse("127.0.62.50");
    private static readonly IPAddress InAsaba = IPAddress.Parse("127.0.63.50");

    private RunningLinks _running = null!;
    private LinkSwitchboard _switchboard = null!;
    private EchoPeer _lagosRedis = null!;

    private static IPEndPoint LagosRedis => LinkSwitchboard.LinkFacingEndPoint(Environment.Region("lagos"), RegionService.Redis);

    [SetUp]
    public async Task StartAsync()
    {
        _running = await RunningLinks.StartAsync(Environment);
        _switchboard = LinkSwitchboard.Start(Environment, _running.Links.Plan);
        _lagosRedis = new EchoPeer(Environment.Region("lagos").Redis.EndPoint);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _lagosRedis.DisposeAsync();
        await _switchboard.DisposeAsync();
        await _running.DisposeAsync();
    }

    [Test]
    public void The_link_facing_address_of_lagos_redis_is_in_lagos_block_on_the_redis_port()
    {
        Assert.That(LagosRedis, Is.EqualTo(IPEndPoint.Parse("127.0.61.200:6379")));
    }

    [TestCase("127.0.62.50", "127.0.62.100:6379", TestName = "A_caller_in_abuja_is_routed_through_abuja_lagos_redis")]
    [TestCase("127.0.63.50", "127.0.63.100:6379", TestName = "A_caller_in_asaba_is_routed_through_asaba_lagos_redis")]
    [TestCase("127.0.61.50", "127.0.61.3:6379", TestName = "A_caller_in_lagos_goes_straight_to_its_own_redis")]
    public void Routes_follow_the_callers_region(string source, string expected)
    {
        Assert.That(_switchboard.RouteFor(IPAddress.Parse(source), Environment.Region("lagos"), RegionService.Redis), Is.EqualTo(IPEndPoint.Parse(expected)));
    }

    [Test]
    public async Task A_caller_outside_every_region_is_refused_rather_than_let_past_the_links()
    {
        using var outsider = await LinkProbe.ConnectAsync(LagosRedis, IPAddress.Loopback);

        Assert.Multiple(async () =>
        {
            Assert.That(_switchboard.RouteFor(IPAddress.Loopback, Environment.Region("lagos"), RegionService.Redis), Is.Null);
            Assert.That(await LinkProbe.EndedAsync(outsider), Is.True);
        });
    }

    [Test]
    public async Task Each_caller_pays_the_latency_of_its_own_path_to_lagos()
    {
        var fromLagos = await RoundTripFromAsync(InLagos);
        var fromAbuja = await RoundTripFromAsync(InAbuja);
        var fromAsaba = await RoundTripFromAsync(InAsaba);

        Assert.Multiple(() =>
        {
            Assert.That(fromLagos.TotalMilliseconds, Is.LessThan(5));
            Assert.That(fromAbuja.TotalMilliseconds, Is.InRange(20.0, 26.0));
            Assert.That(fromAsaba.TotalMilliseconds, Is.InRange(30.0, 36.0));
        });
    }

    [Test]
    public async Task Isolating_lagos_cuts_callers_in_other_regions_but_not_callers_inside_lagos()
    {
        using var abujaLive = await LinkProbe.ConnectAsync(LagosRedis, InAbuja);
        await LinkProbe.RoundTripAsync(abujaLive);

        await _running.Links.IsolateAsync("lagos");
        var abujaDropped = await LinkProbe.EndedAsync(abujaLive);
        using var abujaNew = await LinkProbe.ConnectAsync(LagosRedis, InAbuja);
        var abujaNewEnded = await LinkProbe.EndedAsync(abujaNew);
        var fromLagos = await RoundTripFromAsync(InLagos);
        await _running.Links.HealAsync("lagos");
        var fromAbujaHealed = await RoundTripFromAsync(InAbuja);

        Assert.Multiple(() =>
        {
            Assert.That(abujaDropped, Is.True, "the live connection from abuja was cut");
            Assert.That(abujaNewEnded, Is.True, "a new connection from abuja is closed at once");
            Assert.That(fromLagos.TotalMilliseconds, Is.LessThan(5), "lagos still reaches its own redis");
            Assert.That(fromAbujaHealed.TotalMilliseconds, Is.InRange(20.0, 26.0));
        });
    }

    private static async Task<TimeSpan> RoundTripFromAsync(IPAddress source)
    {
        using var socket = await LinkProbe.ConnectAsync(LagosRedis, source);
        return await LinkProbe.FastestRoundTripAsync(socket);
    }
}
