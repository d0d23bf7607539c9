using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>A TCP listener for a UAS: accepts connections and reads SIP from each (one async loop per connection, no threads).</summary>
public sealed class SipTcpListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ISipMessageSink _sink;
    private readonly SipParserLimits? _limits;
    private readonly ConcurrentDictionary<SipTcpConnection, byte> _connections = new();
    private Task? _accepting;
    private int _disposed;

    /// <summary>Binds and listens (port 0 picks a free port). Call <see cref="Start"/> to accept.</summary>
    /// <exception cref="ArgumentException">Not a 127.0.0.0/8 address.</exception>
    /// <exception cref="SipTransportException">The bind failed.</exception>
    public SipTcpListener(IPEndPoint localEndPoint, ISipMessageSink sink, SipParserLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        ArgumentNullException.ThrowIfNull(sink);
        SipLoopback.Ensure(localEndPoint, "TCP listen address");
        _sink = sink;
        _limits = limits;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(localEndPoint);
            _socket.Listen(1024);
        }
        catch (SocketException exception)
        {
            _socket.Dispose();
            throw new SipTransportException($"Cannot listen on TCP {localEndPoint}: {exception.SocketErrorCode} ({exception.Message}).", exception);
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The listening endpoint.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>Connections accepted so far.</summary>
    public long AcceptedConnections => Interlocked.Read(ref _accepted);

    private long _accepted;

    /// <summary>Starts accepting (once).</summary>
    public void Start() => _accepting ??= Task.Run(AcceptLoopAsync);

    /// <summary>Stops accepting and closes every connection. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _socket.Dispose();
        if (_accepting is not null)
        {
            await _accepting.ConfigureAwait(false);
        }

        foreach (var connection in _connections.Keys)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task AcceptLoopAsync()
    {
        var sink = new TrackingSink(this);
        while (Volatile.Read(ref _disposed) == 0)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _accepted);
            if (Volatile.Read(ref _disposed) != 0)
            {
                accepted.Dispose();
                return;
            }

            var connection = SipTcpConnection.Accepted(accepted, sink, _limits);
            _connections.TryAdd(connection, 0);
            if (!connection.IsOpen)
            {
                _connections.TryRemove(connection, out _);
            }
        }
    }

    private sealed class TrackingSink(SipTcpListener listener) : ISipMessageSink
    {
        public void OnMessage(SipMessage message, SipChannel channel) => listener._sink.OnMessage(message, channel);

        public void OnParseError(SipParseException error, SipChannel channel) => listener._sink.OnParseError(error, channel);

        public void OnClosed(SipChannel channel)
        {
            listener._connections.TryRemove((SipTcpConnection)channel, out _);
            listener._sink.OnClosed(channel);
        }
    }
}
