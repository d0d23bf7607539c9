using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// Cold start and teardown of the whole local topology: from the first check to verified healthy (replicas reading
/// the primaries' writes, Sentinels agreeing, the balancer reporting every region UP), and from dispose to nothing
/// left. Goal (issue 3): up ≤ 10 s, down ≤ 2 s on a 2-core machine.
/// </summary>
internal static class TopologyBenchmark
{
    public static async Task<int> RunAsync(int runs, string? profile)
    {
        EnvironmentDefinition environment;
        try
        {
            environment = EnvironmentLoader.FromRepository().Load(EnvironmentLoader.DefaultEnvironment, profile);
        }
        catch (EnvironmentException exception)
        {
            Console.Error.WriteLine(exception.Message);
            return 2;
        }

        Console.WriteLine($"Topology cold start: environment {environment.Name}, profile {environment.Profile?.Name}, {runs} runs, {Environment.ProcessorCount} cores");
        Console.WriteLine($"  {"run",3}  {"checks",7} {"links",7} {"data",7} {"sip",7}  {"up",7}  {"down",7}   (ms)");
        var ups = new List<double>();
        var downs = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            LocalTopology topology;
            try
            {
                topology = await LocalTopology.StartAsync(environment).ConfigureAwait(false);
            }
            catch (TopologyStartException exception)
            {
                Console.Error.WriteLine(exception.Message);
                return 2;
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
            }
        }

        ups.Sort();
        downs.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  up:   median {ups[ups.Count / 2]:F0} ms, max {ups[^1]:F0} ms (goal ≤ 10000)\n  down: median {downs[downs.Count / 2]:F0} ms, max {downs[^1]:F0} ms (goal ≤ 2000)"));
        return 0;
    }
}
