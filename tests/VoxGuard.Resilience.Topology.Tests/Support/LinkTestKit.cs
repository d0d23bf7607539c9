using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Topology.Tests.Support;

/// <summary>A link server on a free loopback port with an environment's inter-region links applied.</summary>
internal sealed class RunningLinks : IAsyncDisposable
{
    private RunningLinks(LinkServer server, LinkClient client, InterRegionLinks links)
    {
        Server = server;
        Client = client;
        Links = links;
    }

    public LinkServer Server { get; }

    public LinkClient Client { get; }

    public InterRegionLinks Links { get; }

    /// <summary>The tiny environment moved to blocks 127.0.N–N+2.x, so parallel fixtures and a running topology never meet.</summary>
    public static EnvironmentDefinition TinyEnvironmentInBlocks(int lagosOctet) => TinyEnvironment.Parse(
        TinyEnvironment.Yaml.Replace("127.0.1.", $"127.0.{lagosOctet}.", StringComparison.Ordinal)
            .Replace("127.0.2.", $"127.0.{lagosOctet + 1}.", StringComparison.Ordinal)
            .Replace("127.0.3.", $"127.0.{lagosOctet + 2}.", StringComparison.Ordinal));

    public static async Task<RunningLinks> StartAsync(EnvironmentDefinition environment)
    {
        var server = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await server.StartAsync();
        var client = new LinkClient(server.ApiAddress);
        var links = new InterRegionLinks(client, environment);
        await links.ApplyAsync();
        return new RunningLinks(server, client, links);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>A TCP echo peer on a fixed loopback endpoint, standing in for a region's service.</summary>
internal sealed class EchoPeer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _peers = [];
    private readonly Task _accepting;

    public EchoPeer(IPEndPoint endpoint)
    {
        _listener.Bind(endpoint);
        _listener.Listen();
        _accepting = AcceptAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        lock (_peers)
        {
            foreach (var peer in _peers)
            {
                peer.Dispose();
            }
        }

        await _accepting;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var peer = await _listener.AcceptAsync();
                lock (_peers)
                {
                    _peers.Add(peer);
                }

                _ = EchoAsync(peer);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
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
            // The link cut the connection, or the test is over.
        }
    }
}

/// <summary>Client-side measurements through links: connect (optionally from a region's address), round trips, cuts.</summary>
internal static class LinkProbe
{
    public static async Task<Socket> ConnectAsync(IPEndPoint endpoint, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }

            await socket.ConnectAsync(endpoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The fastest of a few round trips after one warm-up (which pays the link's connection set-up): the link's delay
    /// without the test machine's scheduling noise, which only ever adds.
    /// </summary>
    public static async Task<TimeSpan> FastestRoundTripAsync(Socket socket, int roundTrips = 5)
    {
        await RoundTripAsync(socket);
        var fastest = TimeSpan.MaxValue;
        for (var i = 0; i < roundTrips; i++)
        {
            var roundTrip = await RoundTripAsync(socket);
            fastest = roundTrip < fastest ? roundTrip : fastest;
        }

        return fastest;
    }

    /// <summary>Sends a 6-byte PING and waits for its echo.</summary>
    public static async Task<TimeSpan> RoundTripAsync(Socket socket)
    {
        var started = Stopwatch.GetTimestamp();
        await socket.SendAsync("PING\r\n"u8.ToArray());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[6];
        for (var received = 0; received < buffer.Length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
            received += read > 0 ? read : throw new EndOfStreamException("the link closed the connection mid-reply");
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Whether something accepts TCP connections at <paramref name="endpoint"/>.</summary>
    public static bool IsListening(IPEndPoint endpoint)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>True when the connection was closed or reset (within 5 s) rather than answering.</summary>
    public static async Task<bool> EndedAsync(Socket socket)
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
}
