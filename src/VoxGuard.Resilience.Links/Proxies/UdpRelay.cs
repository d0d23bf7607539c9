using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>
/// A UDP link: a datagram relay per direction. Each client address gets a session of its own (a socket connected to
/// the upstream), so the upstream's replies find their way back to the client that sent the request. Every datagram
/// runs through the toxics of its stream on its own:
/// <list type="bullet">
/// <item><c>latency</c> (± <c>jitter</c>): the datagram leaves its arrival + latency ± jitter later (jitter may reorder
/// datagrams, as on a real path);</item>
/// <item><c>bandwidth</c>: datagrams leave no faster than the rate (KB/s), queued behind each other;</item>
/// <item><c>timeout</c>: the datagram is dropped (a blackhole). With a toxicity below 1 the draw is made per datagram,
/// so <c>timeout</c> at toxicity 0.2 is a random 20 % loss.</item>
/// </list>
/// The other toxics act on a byte stream and its connection (slicing, closing, resetting) and are refused on a UDP link.
/// </summary>
internal sealed class UdpRelay : IAsyncDisposable
{
    /// <summary>The toxics a UDP link can apply.</summary>
    public static IReadOnlyList<string> SupportedToxics { get; } = [ToxicTypes.Latency, ToxicTypes.Bandwidth, ToxicTypes.Timeout];

    // A SIP transaction lasts at most 64 × T1 = 32 s; a session idle for longer than this is forgotten.
    private static readonly TimeSpan SessionIdle = TimeSpan.FromSeconds(60);
    private const int MaximumDatagram = 65_535;

    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly LinkClock _clock;
    private readonly Func<string, ToxicDefinition[]> _toxicsOf;
    private readonly Random _draws;
    private readonly ConcurrentDictionary<IPEndPoint, Session> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private readonly Pacing _upstreamPacing = new();
    private readonly Pacing _downstreamPacing = new();
    private long _lastSweep = LinkClock.Now;

    private UdpRelay(Socket listener, IPEndPoint upstream, LinkClock clock, Func<string, ToxicDefinition[]> toxicsOf, int seed)
    {
        _listener = listener;
        _upstream = upstream;
        _clock = clock;
        _toxicsOf = toxicsOf;
        _draws = new Random(seed);
        _receiveLoop = ReceiveFromClientsAsync();
    }

    /// <summary>The bound listen address.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Client addresses with a live session.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>
    /// Binds <paramref name="listen"/> and starts relaying to <paramref name="upstream"/>; <paramref name="toxicsOf"/>
    /// gives the current toxics of a stream (read per datagram, so a change applies to the next one).
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static UdpRelay Start(IPEndPoint listen, IPEndPoint upstream, LinkClock clock, Func<string, ToxicDefinition[]> toxicsOf, int seed)
    {
        var listener = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            listener.Bind(listen);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new UdpRelay(listener, upstream, clock, toxicsOf, seed);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        foreach (var session in _sessions.Values)
        {
            session.Socket.Dispose();
        }

        await _receiveLoop.ConfigureAwait(false);
        await Task.WhenAll(_sessions.Values.Select(session => session.ReceiveLoop)).ConfigureAwait(false);
        _sessions.Clear();
        _stop.Dispose();
    }

    private async Task ReceiveFromClientsAsync()
    {
        var buffer = new byte[MaximumDatagram];
        EndPoint any = new IPEndPoint(_listener.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _listener.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP port-unreachable from an earlier send surfaces here on Linux; the socket is still good.
                continue;
            }

            var arrived = LinkClock.Now;
            var client = (IPEndPoint)received.RemoteEndPoint;
            Session session;
            try
            {
                session = _sessions.GetOrAdd(client, OpenSession);
            }
            catch (SocketException)
            {
                continue;
            }

            session.LastUsed = arrived;
            Forward(ToxicStreams.Upstream, _upstreamPacing, buffer.AsSpan(0, received.ReceivedBytes), arrived,
                data => session.Socket.SendAsync(data, SocketFlags.None));
            SweepIdleSessions(arrived);
        }
    }

    private Session OpenSession(IPEndPoint client)
    {
        var socket = new Socket(_upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(_upstream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var session = new Session(socket) { LastUsed = LinkClock.Now };
        session.ReceiveLoop = ReceiveFromUpstreamAsync(client, session);
        return session;
    }

    private async Task ReceiveFromUpstreamAsync(IPEndPoint client, Session session)
    {
        var buffer = new byte[MaximumDatagram];
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await session.Socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // Nothing listens upstream (yet): as on a real path, the datagram is gone; keep the session.
                continue;
            }

            var arrived = LinkClock.Now;
            session.LastUsed = arrived;
            Forward(ToxicStreams.Downstream, _downstreamPacing, buffer.AsSpan(0, received), arrived,
                data => _listener.SendToAsync(data, SocketFlags.None, client));
        }
    }

    /// <summary>Runs one datagram through its stream's toxics and sends it now, later, or never.</summary>
    private void Forward(string stream, Pacing pacing, ReadOnlySpan<byte> datagram, long arrived, Func<ReadOnlyMemory<byte>, ValueTask<int>> send)
    {
        var due = arrived;
        foreach (var toxic in _toxicsOf(stream))
        {
            if (toxic.Toxicity < 1.0 && Draw() >= toxic.Toxicity)
            {
                continue;
            }

            switch (toxic.Type)
            {
                case ToxicTypes.Timeout:
                    return;
                case ToxicTypes.Latency:
                    var jitter = toxic["jitter"];
                    var delay = toxic["latency"] + (jitter == 0 ? 0 : (long)Math.Round((Draw() * 2 - 1) * jitter));
                    due = LinkClock.TimestampAfter(due, TimeSpan.FromMilliseconds(Math.Max(0, delay)));
                    break;
                case ToxicTypes.Bandwidth when toxic["rate"] > 0:
                    due = pacing.Reserve(due, datagram.Length, toxic["rate"]);
                    break;
            }
        }

        var copy = datagram.ToArray();
        _ = SendAtAsync(due, copy, send);
    }

    private async Task SendAtAsync(long due, byte[] datagram, Func<ReadOnlyMemory<byte>, ValueTask<int>> send)
    {
        try
        {
            await _clock.WaitUntilAsync(due, _stop.Token).ConfigureAwait(false);
            if (!_stop.IsCancellationRequested)
            {
                await send(datagram).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // A datagram that cannot be sent is lost, as on a real path.
        }
    }

    private double Draw()
    {
        lock (_draws)
        {
            return _draws.NextDouble();
        }
    }

    private void SweepIdleSessions(long now)
    {
        if (LinkClock.Elapsed(_lastSweep, now) < SessionIdle)
        {
            return;
        }

        _lastSweep = now;
        foreach (var (client, session) in _sessions)
        {
            if (LinkClock.Elapsed(session.LastUsed, now) >= SessionIdle && _sessions.TryRemove(client, out _))
            {
                session.Socket.Dispose();
            }
        }
    }

    private sealed class Session(Socket socket)
    {
        public Socket Socket { get; } = socket;

        public Task ReceiveLoop { get; set; } = Task.CompletedTask;

        public long LastUsed { get; set; }
    }

    /// <summary>When a stream's bandwidth toxic lets the next datagram leave: each one waits for those before it.</summary>
    private sealed class Pacing
    {
        private readonly Lock _gate = new();
        private long _freeAt;

        public long Reserve(long due, int bytes, long kilobytesPerSecond)
        {
            lock (_gate)
            {
                var start = Math.Max(due, _freeAt);
                _freeAt = LinkClock.TimestampAfter(start, TimeSpan.FromSeconds(bytes / (kilobytesPerSecond * 1000.0)));
                return _freeAt;
            }
        }
    }
}
