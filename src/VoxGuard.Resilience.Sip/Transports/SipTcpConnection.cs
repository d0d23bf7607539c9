using System.Buffers;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>
/// One TCP connection carrying SIP: framed by Content-Length, keepalive line breaks ignored, a parse error closes it.
/// A client connection binds the source address it is given, so a load generator can appear as many clients to a
/// balancer hashing on source address.
/// </summary>
public sealed class SipTcpConnection : SipChannel, IAsyncDisposable
{
    private const int ReadSize = 4096;
    private readonly Socket _socket;
    private readonly ISipMessageSink _sink;
    private readonly SipParserLimits _limits;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closing;

    private SipTcpConnection(Socket socket, ISipMessageSink sink, SipParserLimits? limits)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _sink = sink;
        _limits = limits ?? SipParserLimits.Default;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        RemoteEndPoint = (IPEndPoint)socket.RemoteEndPoint!;
    }

    /// <inheritdoc/>
    public override SipTransportKind Kind => SipTransportKind.Tcp;

    /// <inheritdoc/>
    public override IPEndPoint LocalEndPoint { get; }

    /// <inheritdoc/>
    public override IPEndPoint RemoteEndPoint { get; }

    /// <inheritdoc/>
    public override bool IsOpen => Volatile.Read(ref _closing) == 0;

    /// <summary>Completes when the connection has closed (peer close, reset, parse error or dispose).</summary>
    public Task Completion => _closed.Task;

    /// <summary>
    /// Connects from <paramref name="localAddress"/> (an ephemeral port) to <paramref name="remote"/> and starts reading.
    /// Null: 127.0.0.1 towards loopback; towards a network the harness made (a containers region's), the address the
    /// kernel's route gives (the region bridge's), as no loopback source can reach it.
    /// </summary>
    /// <exception cref="ArgumentException">An address outside 127.0.0.0/8.</exception>
    /// <exception cref="SipTransportException">Refused, timed out, or the source address cannot be bound.</exception>
    public static async Task<SipTcpConnection> ConnectAsync(IPEndPoint remote, IPAddress? localAddress, ISipMessageSink sink,
        SipParserLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(sink);
        SipLoopback.Ensure(remote, "TCP destination");
        if (localAddress is null && IPAddress.IsLoopback(remote.Address))
        {
            localAddress = IPAddress.Loopback;
        }

        if (localAddress is not null)
        {
            SipLoopback.Ensure(localAddress, "TCP source address");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }

            await socket.ConnectAsync(remote, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw new SipTransportException($"TCP connect {localAddress?.ToString() ?? "(the route's address)"} -> {remote} failed: {exception.SocketErrorCode}.", exception);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new SipTcpConnection(socket, sink, limits);
        connection.StartReading();
        return connection;
    }

    internal static SipTcpConnection Accepted(Socket socket, ISipMessageSink sink, SipParserLimits? limits)
    {
        var connection = new SipTcpConnection(socket, sink, limits);
        connection.StartReading();
        return connection;
    }

    /// <inheritdoc/>
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        if (!IsOpen)
        {
            throw new SipTransportException($"TCP {LocalEndPoint} -> {RemoteEndPoint} is closed.");
        }

        await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!bytes.IsEmpty)
            {
                var sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                bytes = bytes[sent..];
            }
        }
        catch (SocketException exception)
        {
            Close();
            throw new SipTransportException($"TCP send {LocalEndPoint} -> {RemoteEndPoint} failed: {exception.SocketErrorCode}.", exception);
        }
        catch (ObjectDisposedException exception)
        {
            throw new SipTransportException($"TCP {LocalEndPoint} -> {RemoteEndPoint} is closed.", exception);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>Closes the connection (a FIN after pending sends; no linger). Idempotent.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        try
        {
            // The shutdown ends the reader's pending receive with the end of the stream, and the reader then disposes
            // the socket. Disposing it here would abort that receive with a SocketException: one exception per call
            // (a thousand a second at 1000 CPS) for a close that is not an error.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            _socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the connection and waits for its reader to end.</summary>
    public async ValueTask DisposeAsync()
    {
        Close();
        await _closed.Task.ConfigureAwait(false);
    }

    private static void ReturnBuffer(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private void StartReading() => _ = Task.Run(ReadLoopAsync);

    private async Task ReadLoopAsync()
    {
        // A call's connection is idle for most of its life (the hold time), and a load keeps thousands open: each waits
        // for data without a buffer (a zero-byte receive) and rents one only to read what arrived, keeping it only while
        // a message is incomplete. An 8 KB array per connection held through the hold made every collection copy
        // megabytes of idle buffers.
        byte[]? buffer = null;
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == 0)
                {
                    ReturnBuffer(ref buffer);
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
                }
                else if (filled == buffer!.Length)
                {
                    if (buffer.Length >= _limits.MaxMessageSize + ReadSize)
                    {
                        throw new SipParseException(SipStatus.MessageTooLarge, $"more than {_limits.MaxMessageSize} bytes without a complete message");
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _limits.MaxMessageSize + ReadSize));
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ReturnBuffer(ref buffer);
                    buffer = larger;
                }

                var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                var offset = 0;
                while (offset < filled)
                {
                    var parsed = SipParser.TryParseStream(buffer.AsSpan(offset, filled - offset), out var message, out var consumed, _limits);
                    offset += consumed;
                    if (!parsed)
                    {
                        break;
                    }

                    try
                    {
                        _sink.OnMessage(message!, this);
                    }
#pragma warning disable CA1031 // A faulty sink must not kill the connection.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                    }
                }

                if (offset > 0)
                {
                    Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
                    filled -= offset;
                }
            }
        }
        catch (SipParseException exception)
        {
            try
            {
                _sink.OnParseError(exception, this);
            }
#pragma warning disable CA1031 // The connection closes whatever the sink does.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            ReturnBuffer(ref buffer);
            Close();
            _socket.Dispose();
            _sending.Dispose();
            try
            {
                _sink.OnClosed(this);
            }
#pragma warning disable CA1031
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            _closed.TrySetResult();
        }
    }
}
