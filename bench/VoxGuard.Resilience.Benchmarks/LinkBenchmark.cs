using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime;
using System.Runtime.InteropServices;
using HdrHistogram;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>What the link benchmark measures and for how long.</summary>
internal sealed record LinkBenchmarkSettings
{
    public TimeSpan ThroughputDuration { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan ThroughputWarmup { get; init; } = TimeSpan.FromMilliseconds(500);

    public int MessageSize { get; init; } = 64;

    public int RoundTrips { get; init; } = 5000;

    public int RoundTripWarmup { get; init; } = 1000;

    public TimeSpan ToxicLatency { get; init; } = TimeSpan.FromMilliseconds(20);

    public int ToxicRoundTrips { get; init; } = 200;

    public int ToxicRoundTripWarmup { get; init; } = 10;

    public long BandwidthKilobytesPerSecond { get; init; } = 1000;

    public long BandwidthTransferBytes { get; init; } = 2_500_000;

    public static bool TryParse(ReadOnlySpan<string> args, out LinkBenchmarkSettings settings, out string problem)
    {
        settings = new LinkBenchmarkSettings();
        problem = "";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--duration" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0.5 and <= 10:
                    settings = settings with { ThroughputDuration = TimeSpan.FromSeconds(seconds) };
                    i++;
                    break;
                case "--round-trips" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is >= 100 and <= 50_000:
                    settings = settings with { RoundTrips = count, RoundTripWarmup = Math.Min(1000, count) };
                    i++;
                    break;
                case "--duration" or "--round-trips":
                    problem = $"{args[i]} needs a value in range, not '{value}'.";
                    return false;
                default:
                    problem = $"unknown option '{args[i]}'.";
                    return false;
            }
        }

        return true;
    }
}

/// <summary>
/// Compares, on 127.0.0.1 only, a direct TCP connection with one through the embedded link
/// server: throughput and round-trip latency with no toxics, then the accuracy of a latency
/// toxic and of a bandwidth toxic. Prints a table; asserts nothing.
/// </summary>
internal static class LinkBenchmark
{
    private static readonly int[] ThroughputConnections = [1, 4];

    public static async Task RunAsync(LinkBenchmarkSettings settings)
    {
        var runTime = Stopwatch.StartNew();
        PrintHeader();
        await MeasureAndPrintAsync(settings);
        Console.WriteLine();
        Console.WriteLine($"Run time: {runTime.Elapsed.TotalSeconds:F1} s (set-up, measurements and tear-down; not the build)");
    }

    /// <summary>Pass-through with no toxics, direct against through a link: throughput (MB/s) and 64-byte round trips (µs).</summary>
    internal sealed record PassThrough(double DirectMegabytesPerSecond, double LinkMegabytesPerSecond, double DirectP50Us, double DirectP99Us, double LinkP50Us, double LinkP99Us);

    /// <summary>The short form for the summary table: one connection, 1 s of throughput and 2000 round trips each way.</summary>
    internal static async Task<PassThrough> PassThroughAsync()
    {
        using var server = new BenchServer();
        await using var links = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await links.StartAsync();
        using var client = new LinkClient(links.ApiAddress);
        var plain = await client.CreateProxyAsync(new LinkProxySpec("bench-plain", "127.0.0.1:0", $"127.0.0.1:{server.EndPoint.Port}"));
        var (direct, viaLink) = (server.EndPoint, LoopbackEndPoint(plain.Listen));
        var duration = TimeSpan.FromSeconds(1);
        foreach (var path in new[] { direct, viaLink })
        {
            await Measure.ThroughputAsync(path, 1, TimeSpan.FromMilliseconds(300));
        }

        var directThroughput = await Measure.ThroughputAsync(direct, 1, duration);
        var linkThroughput = await Measure.ThroughputAsync(viaLink, 1, duration);
        var directRtt = await Measure.PingPongAsync(direct, 64, 500, 2000);
        var linkRtt = await Measure.PingPongAsync(viaLink, 64, 500, 2000);
        return new PassThrough(directThroughput.MegabytesPerSecond, linkThroughput.MegabytesPerSecond,
            directRtt.GetValueAtPercentile(50) / 1000.0, directRtt.GetValueAtPercentile(99) / 1000.0,
            linkRtt.GetValueAtPercentile(50) / 1000.0, linkRtt.GetValueAtPercentile(99) / 1000.0);
    }

    /// <summary>Everything it starts (servers, proxies, relay, connections) is disposed before it returns.</summary>
    private static async Task MeasureAndPrintAsync(LinkBenchmarkSettings settings)
    {
        using var server = new BenchServer();
        await using var links = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await links.StartAsync();
        using var client = new LinkClient(links.ApiAddress);

        var upstream = $"127.0.0.1:{server.EndPoint.Port}";
        var plain = await client.CreateProxyAsync(new LinkProxySpec("bench-plain", "127.0.0.1:0", upstream));
        var delayed = await client.CreateProxyAsync(new LinkProxySpec("bench-latency", "127.0.0.1:0", upstream));
        await client.AddToxicAsync(delayed.Name, ToxicSpec.Latency(settings.ToxicLatency));
        var throttled = await client.CreateProxyAsync(new LinkProxySpec("bench-bandwidth", "127.0.0.1:0", upstream));
        await client.AddToxicAsync(throttled.Name, ToxicSpec.Bandwidth(settings.BandwidthKilobytesPerSecond));

        var direct = server.EndPoint;
        var viaPlain = LoopbackEndPoint(plain.Listen);
        var viaDelayed = LoopbackEndPoint(delayed.Listen);
        var viaThrottled = LoopbackEndPoint(throttled.Listen);
        Console.WriteLine($"Link server API {links.ApiAddress}; upstream {upstream}; proxies: {plain.Name} {plain.Listen} (no toxics), " +
                          $"{delayed.Name} {delayed.Listen} (latency {Ms(settings.ToxicLatency)} ms downstream), " +
                          $"{throttled.Name} {throttled.Listen} (bandwidth {settings.BandwidthKilobytesPerSecond} KB/s downstream)");
        Console.WriteLine();

        // A bare relay (no channel, no toxics, no bookkeeping) as the yardstick for any user-space proxy.
        await using var relay = new ReferenceRelay(direct, 32 * 1024);

        // 1. Throughput. Warm every path up first so the JIT and the pools are not measured.
        var paths = new[] { direct, viaPlain, relay.EndPoint };
        foreach (var path in paths)
        {
            await Measure.ThroughputAsync(path, 1, settings.ThroughputWarmup);
        }

        var throughput = new List<ThroughputResult[]>();
        foreach (var connections in ThroughputConnections)
        {
            var row = new ThroughputResult[paths.Length];
            for (var i = 0; i < paths.Length; i++)
            {
                row[i] = await Measure.ThroughputAsync(paths[i], connections, settings.ThroughputDuration);
            }

            throughput.Add(row);
        }

        PrintThroughput(settings, throughput);

        // 2. Added latency with no toxics.
        var directRtt = await Measure.PingPongAsync(direct, settings.MessageSize, settings.RoundTripWarmup, settings.RoundTrips);
        var proxyRtt = await Measure.PingPongAsync(viaPlain, settings.MessageSize, settings.RoundTripWarmup, settings.RoundTrips);
        var relayRtt = await Measure.PingPongAsync(relay.EndPoint, settings.MessageSize, settings.RoundTripWarmup, settings.RoundTrips);
        PrintLatency(settings, directRtt, proxyRtt, relayRtt);

        // 3. Latency toxic accuracy.
        var delayedRtt = await Measure.PingPongAsync(viaDelayed, settings.MessageSize, settings.ToxicRoundTripWarmup, settings.ToxicRoundTrips);
        PrintLatencyToxic(settings, directRtt, delayedRtt);

        // 4. Bandwidth toxic accuracy (downstream: the server sends, the client receives).
        var directDownload = await Measure.DownloadAsync(direct, settings.BandwidthTransferBytes);
        var throttledDownload = await Measure.DownloadAsync(viaThrottled, settings.BandwidthTransferBytes);
        PrintBandwidth(settings, directDownload, throttledDownload);
    }

    private static IPEndPoint LoopbackEndPoint(string listen)
    {
        var endpoint = IPEndPoint.Parse(listen);
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            throw new InvalidOperationException($"The proxy listens on {listen}, not on loopback; the benchmark stays on 127.0.0.1.");
        }

        return endpoint;
    }

    private static void PrintHeader()
    {
        Console.WriteLine("VoxGuard link server benchmark (figures only, nothing asserted)");
        Console.WriteLine($"Machine: {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, " +
                          $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC, " +
#if DEBUG
                          "Debug build");
#else
                          "Release build");
#endif
    }

    private static void PrintThroughput(LinkBenchmarkSettings settings, List<ThroughputResult[]> rows)
    {
        Console.WriteLine($"1. Pass-through throughput, no toxics ({settings.ThroughputDuration.TotalSeconds:F1} s per run, client writes of 64 KiB, " +
                          "1 MB = 1,000,000 bytes)");
        var table = new Table(
            "Connections", "Direct MB/s", "Proxy MB/s", "Proxy/direct", "Bare relay MB/s", "Proxy/relay", "CPU direct", "CPU proxy", "CPU relay");
        for (var i = 0; i < rows.Count; i++)
        {
            var (direct, proxy, relay) = (rows[i][0], rows[i][1], rows[i][2]);
            table.Add(
                ThroughputConnections[i].ToString(CultureInfo.InvariantCulture),
                F(direct.MegabytesPerSecond, "F0"),
                F(proxy.MegabytesPerSecond, "F0"),
                F(proxy.MegabytesPerSecond / direct.MegabytesPerSecond, "P0"),
                F(relay.MegabytesPerSecond, "F0"),
                F(proxy.MegabytesPerSecond / relay.MegabytesPerSecond, "P0"),
                Cpu(direct),
                Cpu(proxy),
                Cpu(relay));
        }

        table.Print();
        Console.WriteLine("   Bare relay: a minimal ReceiveAsync/SendAsync loop (32 KiB buffer) in this program, the floor for any user-space proxy.");
        Console.WriteLine("   CPU: cores busy in this whole process (clients, servers, proxy) during the run; in brackets the user-mode part,");
        Console.WriteLine("   the rest is kernel time (loopback TCP copies). A proxy doubles the socket hops, so once the CPUs are saturated");
        Console.WriteLine("   it can reach at most about half of a direct connection's rate.");
        Console.WriteLine();
    }

    private static void PrintLatency(LinkBenchmarkSettings settings, LongHistogram direct, LongHistogram proxy, LongHistogram relay)
    {
        Console.WriteLine($"2. Round-trip latency, no toxics: {settings.MessageSize}-byte ping-pong, {settings.RoundTrips} round trips " +
                          $"after {settings.RoundTripWarmup} warm-up (microseconds;" +
                          " added = this path's percentile minus direct's)");
        var table = new Table("Path", "p50", "p90", "p99", "max", "mean");
        void AddPath(string name, LongHistogram path) =>
            table.Add(name, Us(path, 50), Us(path, 90), Us(path, 99), Us(path.GetMaxValue()), Us((long)path.GetMean()));
        void AddDifference(string name, LongHistogram path) =>
            table.Add(name, Added(path, direct, 50), Added(path, direct, 90), Added(path, direct, 99), "-", Signed((long)(path.GetMean() - direct.GetMean())));

        AddPath("direct", direct);
        AddPath("proxy", proxy);
        AddDifference("added by proxy", proxy);
        AddPath("bare relay", relay);
        AddDifference("added by relay", relay);
        table.Print();
        Console.WriteLine();
    }

    private static void PrintLatencyToxic(LinkBenchmarkSettings settings, LongHistogram direct, LongHistogram delayed)
    {
        var settingUs = (long)settings.ToxicLatency.TotalMicroseconds;
        Console.WriteLine($"3. Latency toxic {Ms(settings.ToxicLatency)} ms downstream: {settings.MessageSize}-byte ping-pong, " +
                          $"{settings.ToxicRoundTrips} round trips after {settings.ToxicRoundTripWarmup} warm-up (microseconds;" +
                          " error = added minus the setting)");
        var table = new Table("Path", "p50", "p90", "p99", "max");
        table.Add("direct (run 2)", Us(direct, 50), Us(direct, 90), Us(direct, 99), Us(direct.GetMaxValue()));
        table.Add($"proxy + latency {Ms(settings.ToxicLatency)} ms", Us(delayed, 50), Us(delayed, 90), Us(delayed, 99), Us(delayed.GetMaxValue()));
        table.Add(
            "added vs direct",
            Added(delayed, direct, 50),
            Added(delayed, direct, 90),
            Added(delayed, direct, 99),
            "-");
        table.Add(
            $"error vs setting {settingUs}",
            Signed(Diff(delayed, direct, 50) - (settingUs * 1000)),
            Signed(Diff(delayed, direct, 90) - (settingUs * 1000)),
            Signed(Diff(delayed, direct, 99) - (settingUs * 1000)),
            "-");
        table.Print();
        Console.WriteLine();
    }

    private static void PrintBandwidth(LinkBenchmarkSettings settings, DownloadResult direct, DownloadResult throttled)
    {
        Console.WriteLine($"4. Bandwidth toxic {settings.BandwidthKilobytesPerSecond} KB/s downstream: {settings.BandwidthTransferBytes:N0} bytes " +
                          "server -> client (1 KB = 1000 bytes, as Toxiproxy counts)");
        var table = new Table("Path", "Setting KB/s", "Achieved KB/s", "Achieved/setting", "Elapsed s", "First byte ms");
        table.Add(
            "direct",
            "-",
            F(direct.KilobytesPerSecond, "F0"),
            "-",
            F(direct.Elapsed.TotalSeconds, "F3"),
            F(direct.FirstByte.TotalMilliseconds, "F1"));
        table.Add(
            "proxy + bandwidth",
            settings.BandwidthKilobytesPerSecond.ToString(CultureInfo.InvariantCulture),
            F(throttled.KilobytesPerSecond, "F1"),
            F(throttled.KilobytesPerSecond / settings.BandwidthKilobytesPerSecond, "P1"),
            F(throttled.Elapsed.TotalSeconds, "F3"),
            F(throttled.FirstByte.TotalMilliseconds, "F1"));
        table.Print();
    }

    private static string Cpu(ThroughputResult result) => $"{F(result.CpuCores, "F2")} ({F(result.UserCores, "F2")})";

    private static string Ms(TimeSpan value) => F(value.TotalMilliseconds, "0.###");

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Us(LongHistogram histogram, double percentile) => Us(histogram.GetValueAtPercentile(percentile));

    private static string Us(long nanoseconds) => F(nanoseconds / 1000.0, "F1");

    private static long Diff(LongHistogram a, LongHistogram b, double percentile) =>
        a.GetValueAtPercentile(percentile) - b.GetValueAtPercentile(percentile);

    private static string Added(LongHistogram a, LongHistogram b, double percentile) => Signed(Diff(a, b, percentile));

    private static string Signed(long nanoseconds) => (nanoseconds >= 0 ? "+" : "") + Us(nanoseconds);

    /// <summary>A plain-text table: left-aligned first column, right-aligned figures.</summary>
    private sealed class Table(params string[] headers)
    {
        private readonly List<string[]> _rows = [headers];

        public void Add(params string[] cells) => _rows.Add(cells);

        public void Print()
        {
            var widths = headers.Select((_, column) => _rows.Max(row => row[column].Length)).ToArray();
            foreach (var (row, index) in _rows.Select((row, index) => (row, index)))
            {
                var cells = row.Select((cell, column) => column == 0 ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column]));
                Console.WriteLine("   " + string.Join("   ", cells).TrimEnd());
                if (index == 0)
                {
                    Console.WriteLine("   " + string.Join("   ", widths.Select(width => new string('-', width))));
                }
            }
        }
    }
}
