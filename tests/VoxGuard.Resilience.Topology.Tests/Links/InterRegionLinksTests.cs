using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links;
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
    private static readonly EnvironmentDefinition Environment = TinyEnvironment.Parse(
        TinyEnvironment.Yaml.Replace("127.0.1.", "127.0.41.", StringComparison.Ordinal)
            .Replace("127.0.2.", "127.0.42.", StringComparison.Ordinal)
            .Replace("127.0.3.", "127.0.43.", StringComparison.Ordinal));

    private LinkServer _server = null!;
    private LinkClient _client = null!;
    private InterRegionLinks _links = null!;
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _peers = [];

    [SetUp]
    public async Task StartAsync()
    {
        _server = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await _server.StartAsync();
        _client = new LinkClient(_server.ApiAddress);
        _links = new InterRegionLinks(_client, Environment);
        await _links.ApplyAsync();

        // Lagos's Redis and Abuja's Redis, as echo peers on their real addresses.
        StartEchoPeer(Environment.Region("lagos").Redis.EndPoint);
        StartEchoPeer(Environment.Region("abuja").Redis.EndPoint);
    }

    [TearDown]
    public async Task StopAsync()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_peers);
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task Applying_creates_every_link_with_half_the_round_trip_latency_each_way()
    {
        var proxies = await _client.GetProxiesAsync();
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
        using var connection = await ConnectAsync(_links.Link("abuja-lagos-redis").Listen);

        var roundTrip = await RoundTripAsync(connection);

        Assert.That(roundTrip.TotalMilliseconds, Is.InRange(20.0, 25.0));
    }

    [Test]
    public async Task Isolating_lagos_drops_its_links_while_abuja_still_reaches_its_own_redis_then_healing_restores_them()
    {
        using var crossRegion = await ConnectAsync(_links.Link("abuja-lagos-redis").Listen);
        await RoundTripAsync(crossRegion);

        var isolation = await _links.IsolateAsync("lagos");
        var dropped = await ReadEndAsync(crossRegion);
        var refused = Assert.ThrowsAsync<SocketException>(async () => await ConnectAsync(_links.Link("abuja-lagos-redis").Listen));
        using var inside = await ConnectAsync(Environment.Region("abuja").Redis.EndPoint);
        var insideRoundTrip = await RoundTripAsync(inside);
        var untouched = await _client.GetProxyAsync("abuja-asaba-redis");

        await _links.HealAsync("lagos");
        using var healed = await ConnectAsync(_links.Link("abuja-lagos-redis").Listen);
        var healedRoundTrip = await RoundTripAsync(healed);

        Assert.Multiple(() =>
        {
            Assert.That(isolation.Links, Has.Count.EqualTo(2 * 2 * 5), "every link into or out of lagos");
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
        using var connection = await ConnectAsync(_links.Link("lagos-abuja-redis").Listen);
        await RoundTripAsync(connection);

        await _links.IsolateAsync("abuja", IsolationMode.Blackhole);
        await connection.SendAsync(new byte[16]);
        using var silence = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var received = Assert.CatchAsync<OperationCanceledException>(async () => await connection.ReceiveAsync(new byte[16], SocketFlags.None, silence.Token));
        var stillEnabled = (await _client.GetProxyAsync("lagos-abuja-redis")).Enabled;
        await _links.HealAsync("abuja");
        var toxicsAfterHeal = await _client.GetToxicsAsync("lagos-abuja-redis");

        Assert.Multiple(() =>
        {
            Assert.That(received, Is.Not.Null, "nothing came back through the blackhole");
            Assert.That(stillEnabled, Is.True);
            Assert.That(toxicsAfterHeal.Select(toxic => toxic.Name), Is.EquivalentTo(new[] { "region-latency-upstream", "region-latency-downstream" }));
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

    private void StartEchoPeer(IPEndPoint endpoint)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endpoint);
        listener.Listen();
        _sockets.Add(listener);
        _peers.Add(Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var peer = await listener.AcceptAsync();
                    lock (_sockets)
                    {
                        _sockets.Add(peer);
                    }

                    _ = EchoAsync(peer);
                }
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }));
    }

    private static async Task EchoAsync(Socket peer)
    {
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await peer.ReceiveAsync(buffer)) > 0)
            {
                await peer.SendAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // The test is over or the link dropped the connection.
        }
    }

    private async Task<Socket> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    private static async Task<TimeSpan> RoundTripAsync(Socket socket)
    {
        var started = Stopwatch.GetTimestamp();
        await socket.SendAsync("PING\r\n"u8.ToArray());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[6];
        var received = 0;
        while (received < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                throw new EndOfStreamException("the link closed the connection");
            }

            received += read;
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>True when the peer closed or reset the connection within 5 s.</summary>
    private static async Task<bool> ReadEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await socket.ReceiveAsync(new byte[64], SocketFlags.None, timeout.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
