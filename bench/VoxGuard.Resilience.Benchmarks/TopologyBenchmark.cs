using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// Cold start and teardown of the whole local topology: from the first check to verified healthy (replicas reading
/// the primaries' writes, Sentinels agreeing, the balancer reporting every region UP), and from dispose to nothing
/// left. Goal (issue 3): up ≤ 10 s, down ≤ 2 s on a 2-core machine.
/// </summary>
internal static class TopologyBenchmark
{
    /// <param name="runs">Start/stop cycles.</param>
    /// <param name="profile">The environment profile (null: the file's default).</param>
    /// <param name="environmentFile">An environment file (null: the repository's local environment), e.g. one moved to other loopback blocks.</param>
    /// <param name="acmEngines">The harness's ACM engines behind the proxies (what scenarios run) instead of the SIPp stand-in.</param>
    public static async Task<int> RunAsync(int runs, string? profile, string? environmentFile = null, bool acmEngines = false)
    {
        EnvironmentDefinition environment;
        try
        {
            environment = environmentFile is null
                ? EnvironmentLoader.FromRepository().Load(EnvironmentLoader.DefaultEnvironment, profile)
                : EnvironmentLoader.LoadFile(environmentFile, profile);
        }
        catch (EnvironmentException exception)
        {
            Console.Error.WriteLine(exception.Message);
            return 2;
        }

        return await MeasureAsync(environment, runs, acmEngines).ConfigureAwait(false) is null ? 2 : 0;
    }

    /// <summary>Medians of the measured runs (the first one left out when there are more: it includes the JIT).</summary>
    internal sealed record Result(double UpMedianMs, double DownMedianMs);

    /// <summary>Starts and stops the topology <paramref name="runs"/> times, printing each run and the phases; null when a start failed.</summary>
    internal static async Task<Result?> MeasureAsync(EnvironmentDefinition environment, int runs, bool acmEngines)
    {
        Console.WriteLine($"Topology cold start: environment {environment.Name} ({environment.Source}), profile {environment.Profile?.Name}, engines {(acmEngines ? "acm" : "sipp")}, {runs} runs, {Environment.ProcessorCount} cores");
        Console.WriteLine($"  {"run",3}  {"checks",7} {"links",7} {"data",7} {"sip",7}  {"up",7}  {"down",7}   (ms)");
        var ups = new List<double>();
        var downs = new List<double>();
        var phases = new Dictionary<string, (List<double> Offsets, List<double> Durations)>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var run = 1; run <= runs; run++)
        {
            LocalTopology topology;
            try
            {
                topology = await LocalTopology.StartAsync(environment, new LocalTopologyOptions { Engines = acmEngines ? EngineLauncher.Instance : SippEngineLauncher.Instance }).ConfigureAwait(false);
            }
            catch (TopologyStartException exception)
            {
                Console.Error.WriteLine(exception.Message);
                return null;
            }

            var up = topology.StartupDuration.TotalMilliseconds;
            var steps = topology.Startup.Select(step => step.Duration.TotalMilliseconds).ToList();
            var stopping = Stopwatch.GetTimestamp();
            await topology.DisposeAsync().ConfigureAwait(false);
            var down = Stopwatch.GetElapsedTime(stopping).TotalMilliseconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {run,3}  {steps[0],7:F0} {steps[1],7:F0} {steps[2],7:F0} {steps[3],7:F0}  {up,7:F0}  {down,7:F0}{(run == 1 ? "   (first run: includes JIT)" : string.Empty)}"));
            if (run > 1 || runs == 1)
            {
                ups.Add(up);
                downs.Add(down);
                var origin = topology.Startup[0].StartedAt;
                foreach (var phase in topology.StartupPhases.Concat(topology.ShutdownPhases))
                {
                    if (!phases.TryGetValue(phase.What, out var figures))
                    {
                        figures = phases[phase.What] = ([], []);
                        order.Add(phase.What);
                    }

                    figures.Offsets.Add(phase.What.StartsWith("stop:", StringComparison.Ordinal) ? 0 : Stopwatch.GetElapsedTime(origin, phase.StartedAt).TotalMilliseconds);
                    figures.Durations.Add(phase.Duration.TotalMilliseconds);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  up:   median {Median(ups):F0} ms, max {ups.Max():F0} ms (goal ≤ 10000)\n  down: median {Median(downs):F0} ms, max {downs.Max():F0} ms (goal ≤ 2000)"));
        Console.WriteLine("  phases (medians; \"from\" is when the phase began after the start's first check; overlapping phases ran side by side):");
        Console.WriteLine($"  {"from",7} {"took",7}  phase   (ms)");
        foreach (var what in order)
        {
            var (offsets, durations) = phases[what];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Median(offsets),7:F0} {Median(durations),7:F0}  {what}"));
        }

        return new Result(Median(ups), Median(downs));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
