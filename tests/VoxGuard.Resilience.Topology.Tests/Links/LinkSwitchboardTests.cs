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
/// One link-facing address per service, routed by the caller's region: real sockets bound to source addresses in
/// each region's block, a real link server, echo peers standing in for Lagos's Redis. Blocks 127.0.61–63.x.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LinkSwitchboardTests
{
    private static readonly EnvironmentDefinition Environment = TinyEnvironment.Parse(
        TinyEnvironment.Yaml.Replace("127.0.1.", "127.0.61.", StringComparison.Ordinal)
            .Replace("127.0.2.", "127.0.62.", StringComparison.Ordinal)
            .Replace("127.0.3.", "127.0.63.", StringComparison.Ordinal));

    private static readonly IPAddress InLagos = IPAddress.Parse("127.0.61.50");
    private static readonly IPAddress InAbuja = IPAddress.Parse("127.0.62.50");
    private static readonly IPAddress InAsaba = IPAddress.Parse("127.0.63.50");

    private LinkServer _server = null!;
    private LinkClient _client = null!;
    private InterRegionLinks _links = null!;
    private LinkSwitchboard _switchboard = null!;
    private Socket _lagosRedis = null!;
    private Task _echo = Task.CompletedTask;

    private static IPEndPoint LagosRedis => LinkSwitchboard.LinkFacingEndPoint(Environment.Region("lagos"), RegionService.Redis);

    [SetUp]
    public async Task StartAsync()
    {
        _server = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await _server.StartAsync();
        _client = new LinkClient(_server.ApiAddress);
        _links = new InterRegionLinks(_client, Environment);
        await _links.ApplyAsync();
        _switchboard = LinkSwitchboard.Start(Environment, _links.Plan);

        _lagosRedis = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _lagosRedis.Bind(Environment.Region("lagos").Redis.EndPoint);
        _lagosRedis.Listen();
        _echo = EchoAsync(_lagosRedis);
    }

    [TearDown]
    public async Task StopAsync()
    {
        _lagosRedis.Dispose();
        await _echo;
        await _switchboard.DisposeAsync();
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public void The_link_facing_address_of_lagos_redis_is_in_lagos_block_on_the_redis_port()
    {
        Assert.That(LagosRedis, Is.EqualTo(IPEndPoint.Parse("127.0.61.200:6379")));
    }

    [TestCase("127.0.62.50", "127.0.62.100:6379", TestName = "A_caller_in_abuja_is_routed_through_abuja_lagos_redis")]
    [TestCase("127.0.63.50", "127.0.63.100:6379", TestName = "A_caller_in_asaba_is_routed_through_asaba_lagos_redis")]
    [TestCase("127.0.61.50", "127.0.61.3:6379", TestName = "A_caller_in_lagos_goes_straight_to_its_own_redis")]
    [TestCase("127.0.0.1", "127.0.61.3:6379", TestName = "A_caller_outside_every_region_goes_straight_to_the_service")]
    public void Routes_follow_the_callers_region(string source, string expected)
    {
        Assert.That(_switchboard.RouteFor(IPAddress.Parse(source), Environment.Region("lagos"), RegionService.Redis), Is.EqualTo(IPEndPoint.Parse(expected)));
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
        using var abujaLive = await ConnectFromAsync(InAbuja);
        await RoundTripAsync(abujaLive);

        await _links.IsolateAsync("lagos");
        var abujaDropped = await EndedAsync(abujaLive);
        using var abujaNew = await ConnectFromAsync(InAbuja);
        var abujaNewEnded = await EndedAsync(abujaNew);
        var fromLagos = await RoundTripFromAsync(InLagos);
        await _links.HealAsync("lagos");
        var fromAbujaHealed = await RoundTripFromAsync(InAbuja);

        Assert.Multiple(() =>
        {
            Assert.That(abujaDropped, Is.True, "the live connection from abuja was cut");
            Assert.That(abujaNewEnded, Is.True, "a new connection from abuja is closed at once");
            Assert.That(fromLagos.TotalMilliseconds, Is.LessThan(5), "lagos still reaches its own redis");
            Assert.That(fromAbujaHealed.TotalMilliseconds, Is.InRange(20.0, 26.0));
        });
    }

    private static async Task<Socket> ConnectFromAsync(IPAddress source)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(LagosRedis);
        return socket;
    }

    private static async Task<TimeSpan> RoundTripFromAsync(IPAddress source)
    {
        using var socket = await ConnectFromAsync(source);
        await RoundTripAsync(socket); // the first one also pays the link's connection set-up
        return await RoundTripAsync(socket);
    }

    private static async Task<TimeSpan> RoundTripAsync(Socket socket)
    {
        var started = Stopwatch.GetTimestamp();
        await socket.SendAsync("PING\r\n"u8.ToArray());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[6];
        for (var received = 0; received < buffer.Length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
            received += read > 0 ? read : throw new EndOfStreamException("closed mid-reply");
        }

        return Stopwatch.GetElapsedTime(started);
    }

    private static async Task<bool> EndedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.SendAsync("PING\r\n"u8.ToArray());
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token) == 0;
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

    private static async Task EchoAsync(Socket listener)
    {
        var peers = new List<Task>();
        try
        {
            while (true)
            {
                var peer = await listener.AcceptAsync();
                peers.Add(Task.Run(async () =>
                {
                    using (peer)
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
                        catch (SocketException)
                        {
                            // The link cut the connection.
                        }
                    }
                }));
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
