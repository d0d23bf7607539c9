using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HdrHistogram;

namespace VoxGuard.Resilience.Benchmarks;

internal readonly record struct ThroughputResult(long Bytes, TimeSpan Elapsed, double CpuCores, double UserCores)
{
    public double MegabytesPerSecond => Bytes / Elapsed.TotalSeconds / 1e6;
}

internal readonly record struct DownloadResult(long Bytes, TimeSpan Elapsed, TimeSpan FirstByte)
{
    public double KilobytesPerSecond => Bytes / Elapsed.TotalSeconds / 1e3;
}

/// <summary>
/// The client side of each measurement. Each connection runs on its own thread with blocking
/// sockets, so the client neither takes thread-pool threads from the link server nor adds
/// its own scheduling hops to the figures. Every loop is bounded by a count or a duration.
/// </summary>
internal static class Measure
{
    private const int WriteSize = 64 * 1024;

    /// <summary>Beyond any loopback rate for the longest run; only there to bound the loop.</summary>
    private const long MaxBytesPerConnection = 200L * 1024 * 1024 * 1024;

    /// <summary>Largest round trip the histograms hold (values are in nanoseconds).</summary>
    private const long MaxRoundTripNanoseconds = 60L * 1_000_000_000;

    /// <summary>
    /// Streams to the sink for <paramref name="duration"/> over <paramref name="connections"/>
    /// connections at once; each run ends when the sink has counted every byte.
    /// </summary>
    public static async Task<ThroughputResult> ThroughputAsync(IPEndPoint target, int connections, TimeSpan duration)
    {
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var userBefore = process.UserProcessorTime;
        var wall = Stopwatch.StartNew();
        var runs = await Task.WhenAll(Enumerable.Range(0, connections)
            .Select(_ => OnThread("bench-throughput", () => StreamToSink(target, duration))));
        wall.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var user = process.UserProcessorTime - userBefore;
        return new ThroughputResult(runs.Sum(run => run.Bytes), runs.Max(run => run.Elapsed), cpu / wall.Elapsed, user / wall.Elapsed);
    }

    /// <summary>Round trips of <paramref name="size"/>-byte messages through the echo mode; a histogram in nanoseconds.</summary>
    public static Task<LongHistogram> PingPongAsync(IPEndPoint target, int size, int warmup, int roundTrips) =>
        OnThread("bench-ping-pong", () =>
        {
            using var socket = BenchServer.Connect(target);
            BenchServer.SendAll(socket, [BenchServer.EchoMode]);
            var message = new byte[size];
            message.AsSpan().Fill(0x42);
            var reply = new byte[size];
            for (var i = 0; i < warmup; i++)
            {
                BenchServer.SendAll(socket, message);
                BenchServer.ReceiveExactly(socket, reply);
            }

            var histogram = new LongHistogram(MaxRoundTripNanoseconds, 3);
            for (var i = 0; i < roundTrips; i++)
            {
                var start = Stopwatch.GetTimestamp();
                BenchServer.SendAll(socket, message);
                BenchServer.ReceiveExactly(socket, reply);
                var elapsed = Stopwatch.GetElapsedTime(start);
                histogram.RecordValue(Math.Min(MaxRoundTripNanoseconds, (long)(elapsed.TotalMicroseconds * 1000)));
            }

            socket.Shutdown(SocketShutdown.Send);
            return histogram;
        });

    /// <summary>Asks the generator for <paramref name="bytes"/> and times them until its end of stream.</summary>
    public static Task<DownloadResult> DownloadAsync(IPEndPoint target, long bytes) =>
        OnThread("bench-download", () =>
        {
            using var socket = BenchServer.Connect(target);
            var request = new byte[9];
            request[0] = BenchServer.GeneratorMode;
            BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(1), bytes);
            var buffer = new byte[WriteSize];
            var start = Stopwatch.GetTimestamp();
            BenchServer.SendAll(socket, request);
            long total = 0;
            var firstByte = TimeSpan.Zero;
            int received;
            while ((received = socket.Receive(buffer)) > 0)
            {
                if (total == 0)
                {
                    firstByte = Stopwatch.GetElapsedTime(start);
                }

                total += received;
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            if (total != bytes)
            {
                throw new InvalidOperationException($"Asked {target} for {bytes} bytes, received {total}: the measurement is void.");
            }

            return new DownloadResult(total, elapsed, firstByte);
        });

    private static ThroughputResult StreamToSink(IPEndPoint target, TimeSpan duration)
    {
        using var socket = BenchServer.Connect(target);
        BenchServer.SendAll(socket, [BenchServer.SinkMode]);
        var buffer = new byte[WriteSize];
        new Random(42).NextBytes(buffer);
        long sent = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration && sent < MaxBytesPerConnection)
        {
            BenchServer.SendAll(socket, buffer);
            sent += buffer.Length;
        }

        socket.Shutdown(SocketShutdown.Send);
        Span<byte> reply = stackalloc byte[8];
        BenchServer.ReceiveExactly(socket, reply);
        var elapsed = clock.Elapsed;
        var counted = BinaryPrimitives.ReadInt64LittleEndian(reply);
        if (counted != sent)
        {
            throw new InvalidOperationException($"Sent {sent} bytes to {target}, the sink counted {counted}: the measurement is void.");
        }

        return new ThroughputResult(sent, elapsed, 0, 0);
    }

    /// <summary>Runs blocking client work on a dedicated thread, off the thread pool the link server uses.</summary>
    private static Task<T> OnThread<T>(string name, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        return done.Task;
    }
}
