using System.Diagnostics;
using System.Net;
using System.Text.Json;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// Regions as hosts of their own on this machine's engine: a server started in Lagos's container answers at Lagos's
/// address, Abuja cannot reach it directly (its network has no route out), and reaches it only through the link
/// server listening at Abuja's gateway address on the host's side — the path every inter-region byte takes. Nothing
/// is left afterwards: containers, networks, gateway addresses. Blocks 10.231.11.0/24 and 10.231.12.0/24.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class RegionHostContainersTests
{
    private static readonly RegionHostPlan Lagos = new("lagos", IPNetwork.Parse("10.231.11.0/24"),
        [IPAddress.Parse("10.231.11.11"), IPAddress.Parse("10.231.11.13")], [IPAddress.Parse("10.231.11.101")]);

    private static readonly RegionHostPlan Abuja = new("abuja", IPNetwork.Parse("10.231.12.0/24"),
        [IPAddress.Parse("10.231.12.11"), IPAddress.Parse("10.231.12.13")], [IPAddress.Parse("10.231.12.100")]);

    private static readonly IPEndPoint LagosRedis = new(IPAddress.Parse("10.231.11.13"), 6379);
    private static readonly IPEndPoint AbujaGatewayToLagosRedis = new(IPAddress.Parse("10.231.12.100"), 6379);

    private TopologyImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync() =>
        _images = await TopologyImages.EnsureBuiltAsync(LocalEnvironmentInBlocks.RepositoryRoot, serversOnly: true);

    [Test]
    public async Task A_region_reaches_another_only_through_the_link_server_and_nothing_is_left_afterwards()
    {
        string[] names;
        var run = RunDirectory.Create();
        await using (run)
        {
            await using var engine = await ContainerEngine.StartAsync(run);
            var started = Stopwatch.GetTimestamp();
            var hosts = await RegionHostContainers.StartAsync(engine, _images.Servers, [Lagos, Abuja]);
            names = [.. hosts.Hosts.Select(host => host.Name)];
            TestContext.Progress.WriteLine($"two region hosts in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s");
            await using var links = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
            ManagedProcess? redis = null;
            try
            {
                // The network rule admits Lagos's network while its host exists.
                redis = await StartRedisAsync(run, hosts.NetworkNamespaceOf("lagos"), LagosRedis);
                await links.StartAsync();
                using var client = new LinkClient(links.ApiAddress);
                await client.CreateProxyAsync(new LinkProxySpec("abuja-lagos-redis", AbujaGatewayToLagosRedis.ToString(), LagosRedis.ToString()));

                var fromTheHost = await RespClient.CommandAsync(LagosRedis, CancellationToken.None, "PING");
                var direct = await PingFromAsync(hosts.NetworkNamespaceOf("abuja"), LagosRedis);
                var throughTheLink = await PingFromAsync(hosts.NetworkNamespaceOf("abuja"), AbujaGatewayToLagosRedis);
                await client.DisableProxyAsync("abuja-lagos-redis");
                var linkCut = await PingFromAsync(hosts.NetworkNamespaceOf("abuja"), AbujaGatewayToLagosRedis);
                var fromLagosItself = await PingFromAsync(hosts.NetworkNamespaceOf("lagos"), LagosRedis);

                Assert.Multiple(() =>
                {
                    Assert.That(fromTheHost, Is.EqualTo("PONG"), "the harness reaches every region directly");
                    Assert.That(direct, Does.Contain("Network is unreachable"), "a region's network has no route to another's");
                    Assert.That(throughTheLink, Is.EqualTo("PONG"), "the gateway address on the host's side leads through the link server");
                    Assert.That(linkCut, Does.Not.Contain("PONG"), "with its link disabled, Abuja loses Lagos");
                    Assert.That(fromLagosItself, Is.EqualTo("PONG"), "a region still reaches its own servers");
                    Assert.That(NetworkNamespaceInode($"/proc/{redis.Pid}/ns/net"), Is.EqualTo(NetworkNamespaceInode(hosts.NetworkNamespaceOf("lagos"))),
                        "the server runs in the container's network namespace");
                });
            }
            finally
            {
                // The server first: a namespace lives on while a process is in it.
                if (redis is not null)
                {
                    await redis.KillAsync();
                }

                await hosts.DisposeAsync();
            }
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await CommandAsync("podman", "ps", "--all", "--format", "{{.Names}}"), Is.Not.Contain(names[0]).And.Not.Contain(names[1]));
            Assert.That(await CommandAsync("podman", "network", "ls", "--format", "{{.Name}}"), Is.Not.Contain(names[0]).And.Not.Contain(names[1]));
            Assert.That(await CommandAsync("ip", "-4", "addr", "show", "to", "10.231.11.0/24") + await CommandAsync("ip", "-4", "addr", "show", "to", "10.231.12.0/24"),
                Is.Empty, "the gateway addresses go with the networks");
            Assert.That(NetworkRule.Admits(LagosRedis.Address), Is.False, "a removed network is no target any more");
        });
    }

    [Test]
    public async Task A_loopback_block_or_one_that_overlaps_this_machine_s_routes_is_refused_before_anything_is_made()
    {
        var machineRoute = await FirstRoutedNetworkAsync();
        await using var run = RunDirectory.Create();
        await using var engine = await ContainerEngine.StartAsync(run);
        var loopback = new RegionHostPlan("lagos", IPNetwork.Parse("127.0.231.0/24"), [IPAddress.Parse("127.0.231.11")], []);

        var loopbackError = Assert.ThrowsAsync<ContainerEngineException>(() => RegionHostContainers.StartAsync(engine, _images.Servers, [loopback, Abuja]));

        Assert.That(loopbackError!.Message, Does.Contain("127.0.231.0/24 is loopback"));
        if (machineRoute is not null)
        {
            var bytes = machineRoute.Value.BaseAddress.GetAddressBytes();
            var overlapping = new RegionHostPlan("asaba", new IPNetwork(machineRoute.Value.BaseAddress, 24),
                [new IPAddress([bytes[0], bytes[1], bytes[2], 211])], []);
            var overlapError = Assert.ThrowsAsync<ContainerEngineException>(() => RegionHostContainers.StartAsync(engine, _images.Servers, [Abuja, overlapping]));
            Assert.That(overlapError!.Message, Does.Contain("overlaps this machine's route"));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await engine.ContainersOfRunAsync(), Is.Empty, "nothing is half made");
            Assert.That(await CommandAsync("podman", "network", "ls", "--format", "{{.Name}}"), Does.Not.Contain(engine.RunId));
        });
    }

    [Test]
    public async Task A_lost_host_takes_its_addresses_with_it_and_comes_back_with_them_and_its_links_and_a_loss_at_teardown_leaves_nothing()
    {
        // Blocks 10.231.61-62.0/24: Lagos's gateway to itself through a link tests a listener whose address vanishes and comes back.
        var lagos = new RegionHostPlan("lagos", IPNetwork.Parse("10.231.61.0/24"), [IPAddress.Parse("10.231.61.11"), IPAddress.Parse("10.231.61.13")],
            [IPAddress.Parse("10.231.61.101")]);
        var abuja = new RegionHostPlan("abuja", IPNetwork.Parse("10.231.62.0/24"), [IPAddress.Parse("10.231.62.11")], [IPAddress.Parse("10.231.62.100")]);
        var lagosRedis = new IPEndPoint(IPAddress.Parse("10.231.61.13"), 6379);
        var abujaGateway = new IPEndPoint(IPAddress.Parse("10.231.62.100"), 6379);
        var lagosGateway = new IPEndPoint(IPAddress.Parse("10.231.61.101"), 6380);
        var run = RunDirectory.Create();
        await using (run)
        {
            await using var engine = await ContainerEngine.StartAsync(run);
            var hosts = await RegionHostContainers.StartAsync(engine, _images.Servers, [lagos, abuja]);
            await using var links = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
            ManagedProcess? redis = null;
            try
            {
                redis = await StartRedisAsync(run, hosts.NetworkNamespaceOf("lagos"), lagosRedis);
                await links.StartAsync();
                using var client = new LinkClient(links.ApiAddress);
                await client.CreateProxyAsync(new LinkProxySpec("abuja-lagos-redis", abujaGateway.ToString(), lagosRedis.ToString()));
                await client.CreateProxyAsync(new LinkProxySpec("lagos-lagos-redis", lagosGateway.ToString(), lagosRedis.ToString()));
                var before = hosts.NetworkNamespaceOf("lagos");

                await redis.KillAsync();
                var lost = Stopwatch.GetTimestamp();
                await hosts.Host("lagos").LoseAsync();
                var lossTime = Stopwatch.GetElapsedTime(lost);
                var lostState = await CommandAsync("podman", "inspect", "--format", "{{.State.Running}}", hosts.Host("lagos").Name);
                var lostRoutes = await CommandAsync("ip", "route", "show", "type", "blackhole");
                var lostAddresses = await CommandAsync("ip", "-4", "addr", "show", "to", "10.231.61.0/24");
                var lostPing = await CommandAsync("timeout", "3", "redis-cli", "-h", lagosRedis.Address.ToString(), "-p", "6379", "PING");

                var restored = Stopwatch.GetTimestamp();
                var cameBack = await hosts.Host("lagos").RestoreAsync();
                var restoreTime = Stopwatch.GetElapsedTime(restored);
                var again = await hosts.Host("lagos").RestoreAsync();
                TestContext.Progress.WriteLine($"host lost in {lossTime.TotalMilliseconds:F0} ms, back in {restoreTime.TotalMilliseconds:F0} ms");
                redis = await StartRedisAsync(run, hosts.NetworkNamespaceOf("lagos"), lagosRedis);
                var throughAbuja = await PingFromAsync(hosts.NetworkNamespaceOf("abuja"), abujaGateway);
                var throughLagosGateway = await PingFromAsync(hosts.NetworkNamespaceOf("lagos"), lagosGateway);

                Assert.Multiple(() =>
                {
                    Assert.That(lostState, Is.EqualTo("false"), "the engine reports the lost host stopped");
                    Assert.That(lostRoutes, Does.Contain("10.231.61.0/24"), "the lost block's packets stay on this machine");
                    Assert.That(lostAddresses, Is.Empty, "the gateway addresses went with the bridge");
                    Assert.That(lostPing, Does.Not.Contain("PONG"), "a lost region's addresses answer nothing");
                    Assert.That(cameBack, Is.True);
                    Assert.That(again, Is.False, "a running host is left as it is");
                    Assert.That(hosts.NetworkNamespaceOf("lagos"), Is.Not.EqualTo(before), "the host came back with a new network namespace");
                    Assert.That(throughAbuja, Is.EqualTo("PONG"), "a link towards the region works again");
                    Assert.That(throughLagosGateway, Is.EqualTo("PONG"), "a link listening on the region's gateway address works again");
                });

                // Lost again and torn down in that state: nothing may be left.
                await redis.KillAsync();
                await hosts.Host("lagos").LoseAsync();
            }
            finally
            {
                if (redis is not null)
                {
                    await redis.KillAsync();
                }

                await hosts.DisposeAsync();
            }
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await CommandAsync("ip", "route", "show", "type", "blackhole"), Does.Not.Contain("10.231.61.0/24"));
            Assert.That(await CommandAsync("ip", "-4", "addr", "show", "to", "10.231.61.0/24") + await CommandAsync("ip", "-4", "addr", "show", "to", "10.231.62.0/24"), Is.Empty);
        });
    }

    private static async Task<ManagedProcess> StartRedisAsync(RunDirectory run, string networkNamespace, IPEndPoint endPoint)
    {
        var redis = await run.StartProcessAsync(new ProcessSpec("lagos-redis", "redis-server", "redis-server")
        {
            Arguments = ["--bind", endPoint.Address.ToString(), "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            NetworkNamespace = networkNamespace,
        });
        await redis.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(endPoint).WithTimeout(TimeSpan.FromSeconds(10)));
        return redis;
    }

    /// <summary>redis-cli PING from inside a region's network namespace: its reply, or what it said when it failed.</summary>
    private static async Task<string> PingFromAsync(string networkNamespace, IPEndPoint target) =>
        await CommandAsync("nsenter", $"--net={networkNamespace}", "--", "timeout", "3", "redis-cli", "-h", target.Address.ToString(),
            "-p", target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "PING");

    /// <summary>A /24 this machine routes to (not loopback, not default), or null.</summary>
    private static async Task<IPNetwork?> FirstRoutedNetworkAsync()
    {
        using var routes = JsonDocument.Parse(await CommandAsync("ip", "-j", "-4", "route", "show"));
        foreach (var route in routes.RootElement.EnumerateArray())
        {
            if (route.GetProperty("dst").GetString() is { } destination && destination != "default" && destination.Contains('/', StringComparison.Ordinal)
                && IPNetwork.TryParse(destination, out var network) && !IPAddress.IsLoopback(network.BaseAddress) && !destination.StartsWith("10.231.", StringComparison.Ordinal))
            {
                return network;
            }
        }

        return null;
    }

    /// <summary>Runs a command; its standard output and error, trimmed.</summary>
    private static async Task<string> CommandAsync(string executable, params string[] arguments)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return ((await output) + error).Trim();
    }

    /// <summary>The inode naming a network namespace, from /proc/&lt;pid&gt;/ns/net or a path bound to one.</summary>
    private static string NetworkNamespaceInode(string path) => CommandAsync("stat", "-L", "-c", "%i", path).GetAwaiter().GetResult();
}
