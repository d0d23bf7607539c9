using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// The far end of every benchmark connection, on 127.0.0.1 only. Blocking sockets on
/// dedicated threads, so the server adds as little as it can and never competes with
/// the link server for thread-pool threads. The first byte a client sends picks the mode:
/// <list type="bullet">
/// <item><c>S</c> sink: discards everything; at end of stream answers the byte count (8 bytes, little-endian).</item>
/// <item><c>E</c> echo: sends back whatever arrives.</item>
/// <item><c>G</c> generator: reads a length (8 bytes, little-endian), sends that many bytes, then ends its stream.</item>
/// </list>
/// </summary>
internal sealed class BenchServer : IDisposable
{
    public const byte SinkMode = (byte)'S';
    public const byte EchoMode = (byte)'E';
    public const byte GeneratorMode = (byte)'G';
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly object _gate = new();
    private readonly List<(Socket Socket, Thread Thread)> _connections = [];
    private bool _disposed;

    public BenchServer()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "bench-server-accept" };
        _acceptThread.Start();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Opens a client connection to <paramref name="target"/> (which must be loopback).</summary>
    public static Socket Connect(IPEndPoint target)
    {
        if (!IPAddress.IsLoopback(target.Address))
        {
            throw new InvalidOperationException($"The benchmark only talks to loopback, not {target}.");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = (int)IoTimeout.TotalMilliseconds,
            SendTimeout = (int)IoTimeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(target);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    public static void ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var received = socket.Receive(buffer);
            if (received == 0)
            {
                throw new EndOfStreamException("The peer closed the connection early.");
            }

            buffer = buffer[received..];
        }
    }

    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[socket.Send(data)..];
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _listener.Dispose();
        _acceptThread.Join();
        (Socket Socket, Thread Thread)[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        foreach (var (socket, _) in connections)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                // Already closed by its own thread.
            }

            socket.Dispose();
        }

        foreach (var (_, thread) in connections)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                if (_disposed)
                {
                    socket.Dispose();
                    return;
                }

                var thread = new Thread(() => Serve(socket)) { IsBackground = true, Name = "bench-server-connection" };
                _connections.Add((socket, thread));
                thread.Start();
            }
        }
    }

    private static void Serve(Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            socket.ReceiveTimeout = (int)IoTimeout.TotalMilliseconds;
            socket.SendTimeout = (int)IoTimeout.TotalMilliseconds;
            Span<byte> mode = stackalloc byte[1];
            ReceiveExactly(socket, mode);
            switch (mode[0])
            {
                case SinkMode:
                    Sink(socket);
                    break;
                case EchoMode:
                    Echo(socket);
                    break;
                case GeneratorMode:
                    Generate(socket);
                    break;
                default:
                    break;
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or EndOfStreamException)
        {
            // The client (or Dispose) ended the connection; nothing to report.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static void Sink(Socket socket)
    {
        var buffer = new byte[BufferSize];
        long total = 0;
        int received;
        while ((received = socket.Receive(buffer)) > 0)
        {
            total += received;
        }

        Span<byte> count = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(count, total);
        SendAll(socket, count);
        socket.Shutdown(SocketShutdown.Send);
    }

    private static void Echo(Socket socket)
    {
        var buffer = new byte[BufferSize];
        int received;
        while ((received = socket.Receive(buffer)) > 0)
        {
            SendAll(socket, buffer.AsSpan(0, received));
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static void Generate(Socket socket)
    {
        Span<byte> header = stackalloc byte[8];
        ReceiveExactly(socket, header);
        var remaining = BinaryPrimitives.ReadInt64LittleEndian(header);
        var buffer = new byte[BufferSize];
        buffer.AsSpan().Fill(0x5A);
        while (remaining > 0)
        {
            var piece = (int)Math.Min(remaining, buffer.Length);
            SendAll(socket, buffer.AsSpan(0, piece));
            remaining -= piece;
        }

        socket.Shutdown(SocketShutdown.Send);

        // Wait for the client to close, so the data is not cut off by an abortive close.
        while (socket.Receive(buffer) > 0)
        {
        }
    }
}
