using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Links.Tests.Support;

/// <summary>A client socket with the measurements link tests need: round trips, exact reads, how it ended.</summary>
internal sealed class LoopbackConnection : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    private LoopbackConnection()
    {
    }

    public Socket Socket => _socket;

    public static async Task<LoopbackConnection> OpenAsync(IPEndPoint endpoint)
    {
        var connection = new LoopbackConnection();
        await connection._socket.ConnectAsync(endpoint);
        return connection;
    }

    /// <summary>Sends a small message and waits for its echo; returns the round-trip time.</summary>
    public async Task<TimeSpan> RoundTripAsync(int size = 64, TimeSpan? timeout = null)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var started = Stopwatch.GetTimestamp();
        await _socket.SendAsync(payload, SocketFlags.None);
        var echoed = await ReceiveExactlyAsync(size, timeout ?? TimeSpan.FromSeconds(5));
        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.That(echoed, Is.EqualTo(payload), "the echo came back altered");
        return elapsed;
    }

    /// <summary>
    /// <paramref name="count"/> round trips with blocking I/O on a dedicated thread, each after
    /// <paramref name="idleBefore"/>: the measuring side never waits for the thread pool, so the figures are
    /// the link's, not the test's scheduling (the link benchmark measures the same way).
    /// </summary>
    public async Task<List<double>> MeasureRoundTripsOnOwnThreadAsync(int count, TimeSpan idleBefore = default, int size = 64) =>
        (await MeasureRoundTripsInTurnOnOwnThreadAsync([this], count, idleBefore, size))[0];

    /// <summary>
    /// <paramref name="rounds"/> rounds of one round trip on each of <paramref name="connections"/> in turn, on one
    /// dedicated thread as <see cref="MeasureRoundTripsOnOwnThreadAsync"/> does: interleaved, every series sees the
    /// same host noise, so one can serve as the reference for another. Returns one series per connection, in order.
    /// </summary>
    public static Task<List<double>[]> MeasureRoundTripsInTurnOnOwnThreadAsync(
        IReadOnlyList<LoopbackConnection> connections, int rounds, TimeSpan idleBefore = default, int size = 64)
    {
        var measured = new TaskCompletionSource<List<double>[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var payload = new byte[size];
                var echoed = new byte[size];
                var series = connections.Select(_ => new List<double>(rounds)).ToArray();
                for (var i = 0; i < rounds; i++)
                {
                    for (var c = 0; c < connections.Count; c++)
                    {
                        if (idleBefore > TimeSpan.Zero)
                        {
                            Thread.Sleep(idleBefore);
                        }

                        var socket = connections[c]._socket;
                        var started = Stopwatch.GetTimestamp();
                        socket.Send(payload);
                        for (var received = 0; received < size;)
                        {
                            var read = socket.Receive(echoed, received, size - received, SocketFlags.None);
                            received += read > 0 ? read : throw new EndOfStreamException($"closed after {received} of {size} bytes");
                        }

                        series[c].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }

                measured.SetResult(series);
            }
            catch (Exception exception)
            {
                measured.SetException(exception);
            }
        })
        { IsBackground = true, Name = "round-trips" };
        foreach (var connection in connections)
        {
            connection._socket.ReceiveTimeout = 5000;
        }

        thread.Start();
        return measured.Task;
    }

    public async Task<byte[]> ReceiveExactlyAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var read = await _socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, deadline.Token);
            if (read == 0)
            {
                throw new EndOfStreamException($"closed after {received} of {count} bytes");
            }

            received += read;
        }

        return buffer;
    }

    /// <summary>Reads until the peer closes or resets; reports how it ended and what arrived.</summary>
    public async Task<ConnectionEnd> ReadToEndAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        long total = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (read == 0)
                {
                    return new ConnectionEnd(ConnectionEndKind.Closed, total, Stopwatch.GetElapsedTime(started));
                }

                total += read;
            }
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
        {
            return new ConnectionEnd(ConnectionEndKind.Reset, total, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException)
        {
            return new ConnectionEnd(ConnectionEndKind.StillOpen, total, Stopwatch.GetElapsedTime(started));
        }
    }

    public void Dispose() => _socket.Dispose();
}

internal enum ConnectionEndKind
{
    Closed,
    Reset,
    StillOpen,
}

internal sealed record ConnectionEnd(ConnectionEndKind Kind, long BytesReceived, TimeSpan After);
