using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// The simplest possible user-space TCP relay, as a yardstick: per direction one loop of
/// ReceiveAsync then SendAsync on one buffer, nothing in between. Whatever a proxy on this
/// machine loses against a direct connection, this shows how much of it any relay loses
/// (two socket hops instead of one) and how much is the link server's own.
/// </summary>
internal sealed class ReferenceRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly int _bufferSize;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    public ReferenceRelay(IPEndPoint upstream, int bufferSize)
    {
        _upstream = upstream;
        _bufferSize = bufferSize;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        Task[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            lock (_gate)
            {
                _connections.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            client.NoDelay = true;
            try
            {
                await server.ConnectAsync(_upstream, _stop.Token);
                await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The connection or the relay ended.
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[_bufferSize];
        try
        {
            int received;
            while ((received = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                var data = buffer.AsMemory(0, received);
                while (!data.IsEmpty)
                {
                    data = data[await to.SendAsync(data, SocketFlags.None, _stop.Token)..];
                }
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The other direction or the owner ended the connection.
        }
    }
}
