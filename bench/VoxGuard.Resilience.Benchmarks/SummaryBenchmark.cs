using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// <c>./resilience bench</c>: every benchmark in its short form, one after the other, then one table of ours against
/// the reference beside it — our generator against SIPp, calls through the topology driven by each, a link against a
/// direct connection, and the topology's cold start and teardown; under them what the host itself charges (<see
/// cref="HostBenchmark"/>), so that tables from two hosts can be told apart. A few minutes in all; every part is bounded.
/// </summary>
internal static class SummaryBenchmark
{
    private static readonly int[] GeneratorRates = [1000, 2000, 3000, 3500, 4000, 5000];
    private static readonly int[] TopologyRates = [200, 300, 500, 700, 800, 1000];

    // As long as ./resilience load's figures (10 s): in 5 s steps the queues of a nearly full machine had not grown yet —
    // session 16's bench showed 1000 CPS at p99 169 ms while 10 s loads the same hour gave 0.8–8 s.
    private static readonly TimeSpan TopologyStepLength = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string? profile, string? environmentFile)
    {
        EnvironmentDefinition environment;
        try
        {
            environment = environmentFile is null
                ? EnvironmentLoader.FromRepository().Load(EnvironmentLoader.DefaultEnvironment, profile ?? "ci")
                : EnvironmentLoader.LoadFile(environmentFile, profile ?? "ci");
        }
        catch (EnvironmentException exception)
        {
            Console.Error.WriteLine(exception.Message);
            return 2;
        }

        var started = Stopwatch.GetTimestamp();
        var loadAtStart = LoadAverage();
        var block = environment.Regions[0].AddressBlock.BaseAddress;

        // First, on a host nothing of ours loads yet: what the host itself charges, to compare two runs' tables by.
        var host = HostBenchmark.Measure();
        Console.WriteLine("== 1/4 our load generator against SIPp's (UDP to SIPp's UAS, 4 s per rate)");
        var generators = await SipLoadBenchmark.RunAsync(TimeSpan.FromSeconds(4), GeneratorRates, SipLoadBenchmark.Addresses.InBlock(block));
        Console.WriteLine();
        Console.WriteLine("== 2/4 calls through the topology");
        var through = await ThroughTopologyBenchmark.RunAsync(environment, TopologyRates, TopologyStepLength);
        Console.WriteLine();
        Console.WriteLine("== 3/4 a link against a direct connection (no toxics, 127.0.0.1)");
        var link = await LinkBenchmark.PassThroughAsync();
        Console.WriteLine("   done");
        Console.WriteLine();
        Console.WriteLine("== 4/4 topology cold start and teardown (ACM engines; 3 runs, the first left out)");
        var coldStart = await TopologyBenchmark.MeasureAsync(environment, 3, acmEngines: true);
        Console.WriteLine();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Summary ({Environment.ProcessorCount} cores; load average {loadAtStart} at the start, {LoadAverage()} at the end; {Stopwatch.GetElapsedTime(started).TotalMinutes:F1} min; environment {environment.Name}, profile {environment.Profile?.Name})"));
        var rows = new List<string[]>
        {
            new[] { "", "ours", "reference" },
            new[] { "SIP generator, highest sustained CPS (UDP, ≥ 99.9 %)", Rate(generators.Ours, GeneratorRates), "SIPp " + Rate(generators.Sipp, GeneratorRates) },
            new[] { "through the topology, highest CPS ≥ 99.9 % (TCP, 1 s hold)", Step(through?.OursBest, through?.Ours), "SIPp " + Step(through?.SippBest, through?.Sipp) },
            new[] { string.Create(CultureInfo.InvariantCulture, $"  … and setup p99 < {TopologyStep.SetupP99GoalMs:F0} ms (issue 13's goal: 1000)"), Step(through?.OursBestWithinSetupGoal, through?.Ours), "SIPp " + Step(through?.SippBestWithinSetupGoal, through?.Sipp) },
            new[] { "link pass-through, 1 connection (MB/s)", F(link.LinkMegabytesPerSecond, "F0"), "direct " + F(link.DirectMegabytesPerSecond, "F0") },
            new[] { "link round trip, 64 B, p50 / p99 (µs)", $"{F(link.LinkP50Us, "F0")} / {F(link.LinkP99Us, "F0")}", $"direct {F(link.DirectP50Us, "F0")} / {F(link.DirectP99Us, "F0")}" },
            new[] { "topology cold start to verified healthy (median, s)", coldStart is null ? "failed" : F(coldStart.UpMedianMs / 1000, "F2"), "" },
            new[] { "topology teardown to nothing left (median, s)", coldStart is null ? "failed" : F(coldStart.DownMedianMs / 1000, "F2"), "" },
        };
        rows.AddRange(host.Rows().Select(row => new[] { "host: " + row.What, row.Figure, "" }));
        var widths = Enumerable.Range(0, 3).Select(column => rows.Max(row => row[column].Length)).ToArray();
        foreach (var row in rows)
        {
            Console.WriteLine($"  {row[0].PadRight(widths[0])}   {row[1].PadRight(widths[1])}   {row[2]}".TrimEnd());
        }

        Console.WriteLine("  (through the topology: p50/p99 call setup in brackets; \"below the first\" means the lowest rate tried missed the row's criterion)");
        return through is null || coldStart is null ? 2 : 0;
    }

    private static string Rate(int? best, int[] rates) => best is { } rate ? rate.ToString(CultureInfo.InvariantCulture) : $"below {rates[0]}";

    private static string Step(TopologyStep? best, IReadOnlyList<TopologyStep>? steps) =>
        steps is null ? "not run"
        : best is null ? $"below {steps[0].Rate}"
        : string.Create(CultureInfo.InvariantCulture, $"{best.Rate} ({F(best.SetupP50Ms, "F0")}/{F(best.SetupP99Ms, "F0")} ms, {F(best.KernelDrops, "F0")} dropped)");

    private static string F(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
