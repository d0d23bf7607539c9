using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Links.Tests.Support;

/// <summary>
/// A real TCP peer on loopback for link tests: echoes what it receives, or (with
/// <see cref="EchoServerMode.Sink"/>) reads and counts without answering, or
/// (<see cref="EchoServerMode.Source"/>) sends a fixed payload then closes.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];
    private readonly Task _acceptLoop;
    private readonly EchoServerMode _mode;
    private readonly byte[] _payload;
    private readonly bool _echoOnOwnThread;
    private long _bytesReceived;

    public EchoServer(EchoServerMode mode = EchoServerMode.Echo, byte[]? payload = null)
    {
        if (mode == EchoServerMode.EchoOnOwnThread)
        {
            _echoOnOwnThread = true;
            mode = EchoServerMode.Echo;
        }

        _mode = mode;
        _payload = payload ?? [];
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = AcceptAsync();
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>"127.0.0.1:port", as a proxy's upstream.</summary>
    public string Address => $"127.0.0.1:{Endpoint.Port}";

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>How many connections reached this server.</summary>
    public int AcceptedCount
    {
        get
        {
            lock (_accepted)
            {
                return _accepted.Count;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        lock (_accepted)
        {
            foreach (var socket in _accepted)
            {
                socket.Dispose();
            }
        }

        await _acceptLoop;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                socket.NoDelay = true;
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }

                if (_echoOnOwnThread)
                {
                    new Thread(() => EchoBlocking(socket)) { IsBackground = true, Name = "echo" }.Start();
                }
                else
                {
                    _ = ServeAsync(socket);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    /// <summary>Blocking echo on a thread of its own: a timing peer that never waits for the thread pool.</summary>
    private static void EchoBlocking(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int received;
            while ((received = socket.Receive(buffer)) > 0)
            {
                socket.Send(buffer.AsSpan(0, received));
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // The peer went away or the server stopped.
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            if (_mode == EchoServerMode.Source)
            {
                await socket.SendAsync(_payload, SocketFlags.None, _stop.Token);
                socket.Shutdown(SocketShutdown.Send);
            }

            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (received == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                Interlocked.Add(ref _bytesReceived, received);
                if (_mode == EchoServerMode.Echo)
                {
                    await socket.SendAsync(buffer.AsMemory(0, received), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer went away or the server stopped.
        }
    }
}

internal enum EchoServerMode
{
    Echo,

    /// <summary>Echo with blocking I/O on a dedicated thread per connection: for timing measurements.</summary>
    EchoOnOwnThread,
    Sink,
    Source,
}
