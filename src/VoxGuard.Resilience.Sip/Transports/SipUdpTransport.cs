using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>
/// One UDP socket bound to a loopback endpoint: a receive loop that parses each datagram and hands it to the sink, and
/// sends to any loopback endpoint. Keepalive datagrams (only line breaks) are ignored.
/// </summary>
public sealed class SipUdpTransport : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ISipMessageSink _sink;
    private readonly SipParserLimits _limits;
    private readonly CancellationTokenSource _stop = new();
    private Task? _receiving;
    private int _disposed;

    /// <summary>Binds the socket (port 0 picks a free port; see <see cref="LocalEndPoint"/>). Call <see cref="Start"/> to receive.</summary>
    /// <exception cref="ArgumentException">Not a 127.0.0.0/8 address.</exception>
    /// <exception cref="SipTransportException">The bind failed (address in use…).</exception>
    public SipUdpTransport(IPEndPoint localEndPoint, ISipMessageSink sink, SipParserLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        ArgumentNullException.ThrowIfNull(sink);
        SipLoopback.Ensure(localEndPoint, "UDP bind address");
        _sink = sink;
        _limits = limits ?? SipParserLimits.Default;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = 4 * 1024 * 1024;
            _socket.Bind(localEndPoint);
        }
        catch (SocketException exception)
        {
            _socket.Dispose();
            throw new SipTransportException($"Cannot bind UDP {localEndPoint}: {exception.SocketErrorCode} ({exception.Message}).", exception);
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound endpoint.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Datagrams received (keepalives and errors included).</summary>
    public long DatagramsReceived => Interlocked.Read(ref _received);

    private long _received;

    /// <summary>Starts the receive loop (once).</summary>
    public void Start() => _receiving ??= Task.Run(ReceiveLoopAsync);

    /// <summary>The channel to <paramref name="remote"/> through this socket.</summary>
    /// <exception cref="ArgumentException">Not a 127.0.0.0/8 address.</exception>
    public SipChannel ChannelTo(IPEndPoint remote)
    {
        SipLoopback.Ensure(remote, "UDP destination");
        return new UdpChannel(this, remote);
    }

    /// <summary>Sends bytes to <paramref name="remote"/>.</summary>
    /// <exception cref="SipTransportException">The send failed.</exception>
    public async ValueTask SendToAsync(ReadOnlyMemory<byte> bytes, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        try
        {
            await _socket.SendToAsync(bytes, SocketFlags.None, remote, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException exception)
        {
            throw new SipTransportException($"UDP send {LocalEndPoint} -> {remote} failed: {exception.SocketErrorCode}.", exception);
        }
        catch (ObjectDisposedException exception)
        {
            throw new SipTransportException($"UDP send {LocalEndPoint} -> {remote} failed: the transport is closed.", exception);
        }
    }

    /// <summary>Stops receiving and closes the socket. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_receiving is not null)
        {
            await _receiving.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65_536, pinned: true);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize)
            {
                continue;
            }
            catch (SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _received);
            var data = buffer.AsSpan(0, result.ReceivedBytes);
            if (data.IndexOfAnyExcept((byte)'\r', (byte)'\n') < 0)
            {
                continue;
            }

            var channel = new UdpChannel(this, (IPEndPoint)result.RemoteEndPoint);
            SipMessage message;
            try
            {
                message = SipParser.Parse(data, _limits);
            }
            catch (SipParseException exception)
            {
                Deliver(() => _sink.OnParseError(exception, channel));
                continue;
            }

            Deliver(() => _sink.OnMessage(message, channel));
        }
    }

    private static void Deliver(Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // A faulty sink must not stop the receive loop.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private sealed class UdpChannel(SipUdpTransport transport, IPEndPoint remote) : SipChannel
    {
        public override SipTransportKind Kind => SipTransportKind.Udp;

        public override IPEndPoint LocalEndPoint => transport.LocalEndPoint;

        public override IPEndPoint RemoteEndPoint { get; } = remote;

        public override bool IsOpen => transport._disposed == 0;

        public override ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
            transport.SendToAsync(bytes, RemoteEndPoint, cancellationToken);
    }
}
