using System.Net.Sockets;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Links;

/// <summary>
/// The links of a three-region environment on a real link server, with real loopback peers standing in for the
/// regions' services. Blocks 127.0.41–43.x keep clear of the `local` environment's addresses.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class InterRegionLinksTests
{
    private static readonly EnvironmentDefinition Environment = RunningLinks.TinyEnvironmentInBlocks(41);

    private RunningLinks _running = null!;
    private InterRegionLinks _links = null!;
    private EchoPeer _lagosRedis = null!;
    private EchoPeer _abujaRedis = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _running = await RunningLinks.StartAsync(Environment);
        _links = _running.Links;
        _lagosRedis = new EchoPeer(Environment.Region("lagos").Redis.EndPoint);
        _abujaRedis = new EchoPeer(Environment.Region("abuja").Redis.EndPoint);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _lagosRedis.DisposeAsync();
        await _abujaRedis.DisposeAsync();
        await _running.DisposeAsync();
    }

    [Test]
    public async Task Applying_creates_every_link_with_half_the_round_trip_latency_each_way()
    {
        var proxies = await _running.Client.GetProxiesAsync();
        var link = proxies["abuja-lagos-redis"];

        Assert.Multiple(() =>
        {
            Assert.That(proxies.Keys, Is.EquivalentTo(_links.Plan.Select(planned => planned.Name)));
            Assert.That(link.Listen, Is.EqualTo("127.0.42.100:6379"));
            Assert.That(link.Toxics.Select(toxic => (toxic.Stream, toxic.Attributes["latency"])),
                Is.EquivalentTo(new[] { ("upstream", 10L), ("downstream", 10L) }));
        });
    }

    [Test]
    public async Task A_round_trip_from_abuja_to_lagos_redis_pays_the_documented_20_ms()
    {
        using var connection = await LinkProbe.ConnectAsync(_links.Link("abuja-lagos-redis").Listen);

        var roundTrip = await LinkProbe.FastestRoundTripAsync(connection);

        Assert.That(roundTrip.TotalMilliseconds, Is.InRange(20.0, 25.0));
    }

    [Test]
    public async Task Isolating_lagos_drops_its_links_while_abuja_still_reaches_its_own_redis_then_healing_restores_them()
    {
        using var crossRegion = await LinkProbe.ConnectAsync(_links.Link("abuja-lagos-redis").Listen);
        await LinkProbe.RoundTripAsync(crossRegion);

        var isolation = await _links.IsolateAsync("lagos");
        var dropped = await LinkProbe.EndedAsync(crossRegion);
        var refused = Assert.ThrowsAsync<SocketException>(async () => await LinkProbe.ConnectAsync(_links.Link("abuja-lagos-redis").Listen));
        using var inside = await LinkProbe.ConnectAsync(Environment.Region("abuja").Redis.EndPoint);
        var insideRoundTrip = await LinkProbe.FastestRoundTripAsync(inside);
        var untouched = await _running.Client.GetProxyAsync("abuja-asaba-redis");

        await _links.HealAsync("lagos");
        using var healed = await LinkProbe.ConnectAsync(_links.Link("abuja-lagos-redis").Listen);
        var healedRoundTrip = await LinkProbe.FastestRoundTripAsync(healed);

        Assert.Multiple(() =>
        {
            Assert.That(isolation.Links, Has.Count.EqualTo(2 * 2 * 9), "every link into or out of lagos: 2 peers × 2 directions × 9 services");
            Assert.That(isolation.VerifiedAt, Is.GreaterThanOrEqualTo(isolation.StartedAt));
            Assert.That(dropped, Is.True, "the live cross-region connection was dropped");
            Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
            Assert.That(insideRoundTrip.TotalMilliseconds, Is.LessThan(5), "inside abuja nothing changed");
            Assert.That(untouched.Enabled, Is.True, "abuja-asaba is not lagos's link");
            Assert.That(healedRoundTrip.TotalMilliseconds, Is.InRange(20.0, 25.0), "healed with its latency intact");
        });
    }

    [Test]
    public async Task A_blackholed_region_keeps_connections_open_but_lets_nothing_through_until_healed()
    {
        using var connection = await LinkProbe.ConnectAsync(_links.Link("lagos-abuja-redis").Listen);
        await LinkProbe.RoundTripAsync(connection);

        await _links.IsolateAsync("abuja", IsolationMode.Blackhole);
        await connection.SendAsync(new byte[16]);
        using var silence = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var received = Assert.CatchAsync<OperationCanceledException>(async () => await connection.ReceiveAsync(new byte[16], SocketFlags.None, silence.Token));
        var stillEnabled = (await _running.Client.GetProxyAsync("lagos-abuja-redis")).Enabled;
        await _links.HealAsync("abuja");
        var toxicsAfterHeal = await _running.Client.GetToxicsAsync("lagos-abuja-redis");

        Assert.Multiple(() =>
        {
            Assert.That(received, Is.Not.Null, "nothing came back through the blackhole");
            Assert.That(stillEnabled, Is.True);
            Assert.That(toxicsAfterHeal.Select(toxic => toxic.Name), Is.EquivalentTo(new[] { "region-latency-upstream", "region-latency-downstream" }));
        });
    }

    [Test]
    public async Task A_partition_between_two_regions_cuts_only_their_links_and_healing_restores_them()
    {
        var operation = await _links.IsolateBetweenAsync("lagos", "abuja");
        var proxies = await _running.Client.GetProxiesAsync();
        await _links.HealBetweenAsync("abuja", "lagos");
        var healed = await _running.Client.GetProxiesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(operation.Links, Is.Not.Empty.And.All.Contain("lagos").And.All.Contain("abuja"));
            Assert.That(proxies.Values.Where(proxy => !proxy.Enabled).Select(proxy => proxy.Name), Is.EquivalentTo(operation.Links));
            Assert.That(proxies["lagos-asaba-redis"].Enabled, Is.True, "lagos still reaches asaba");
            Assert.That(healed.Values, Is.All.Matches<LinkProxy>(proxy => proxy.Enabled));
            Assert.That(() => _links.IsolateBetweenAsync("lagos", "lagos"), Throws.ArgumentException);
        });
    }

    [Test]
    public async Task Unshaping_a_link_removes_what_shaping_added_and_keeps_its_documented_latency()
    {
        await _links.ShapeAsync("abuja-lagos-pg", ToxicSpec.Latency(TimeSpan.FromMilliseconds(300)));
        await _links.ShapeAsync("abuja-lagos-pg", ToxicSpec.Bandwidth(64));
        var shaped = (await _running.Client.GetToxicsAsync("abuja-lagos-pg")).Count;

        var operation = await _links.UnshapeAsync("abuja-lagos-pg");
        var left = await _running.Client.GetToxicsAsync("abuja-lagos-pg");

        Assert.Multiple(() =>
        {
            Assert.That(shaped, Is.EqualTo(4));
            Assert.That(operation.What, Does.Contain("latency").And.Contain("bandwidth"));
            Assert.That(left.Select(toxic => toxic.Name), Is.EquivalentTo(new[] { "region-latency-upstream", "region-latency-downstream" }));
        });
    }

    [Test]
    public void An_unknown_region_or_link_is_refused_naming_the_known_ones()
    {
        var region = Assert.ThrowsAsync<EnvironmentException>(async () => await _links.IsolateAsync("kano"));
        var link = Assert.ThrowsAsync<ArgumentException>(async () => await _links.ShapeAsync("kano-lagos-pg", ToxicSpec.Noop()));

        Assert.Multiple(() =>
        {
            Assert.That(region!.Message, Does.Contain("kano").And.Contain("lagos, abuja, asaba"));
            Assert.That(link!.Message, Does.Contain("No inter-region link 'kano-lagos-pg'").And.Contain("abuja-lagos-pg"));
        });
    }
}
