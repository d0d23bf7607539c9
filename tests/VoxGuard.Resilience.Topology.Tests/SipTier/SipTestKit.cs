using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>Environments for the SIP tier's tests: the tiny environment moved to its own blocks and balancer address.</summary>
internal static class SipEnvironments
{
    /// <summary>
    /// The tiny environment with regions in 127.0.N–N+2.x and the balancer at 127.0.0.N (never 127.0.0.10, where a
    /// running local topology listens), with the given profile and balancer settings; <paramref name="accessLinks"/> is
    /// the balancer's <c>access_links</c> section (e.g. <c>{ latency: 10ms }</c>), none when null.
    /// </summary>
    public static EnvironmentDefinition InBlocks(int lagosOctet, string profile = "ci", string transport = "tcp", string mode = "roundrobin",
        bool redispatch = true, string? yaml = null, string? accessLinks = null) =>
        TinyEnvironment.Parse(Yaml(lagosOctet, transport, mode, redispatch, yaml, accessLinks), profile);

    public static string Yaml(int lagosOctet, string transport = "tcp", string mode = "roundrobin", bool redispatch = true, string? yaml = null,
        string? accessLinks = null) =>
        (yaml ?? TinyEnvironment.Yaml)
            .Replace("  redispatch: true", accessLinks is null ? "  redispatch: true" : $"  redispatch: true\n  access_links: {accessLinks}", StringComparison.Ordinal)
            .Replace("127.0.1.", $"127.0.{lagosOctet}.", StringComparison.Ordinal)
            .Replace("127.0.2.", $"127.0.{lagosOctet + 1}.", StringComparison.Ordinal)
            .Replace("127.0.3.", $"127.0.{lagosOctet + 2}.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", $"address: 127.0.0.{lagosOctet}", StringComparison.Ordinal)
            .Replace("transport: tcp", $"transport: {transport}", StringComparison.Ordinal)
            .Replace("mode: roundrobin", $"mode: {mode}", StringComparison.Ordinal)
            .Replace("redispatch: true", $"redispatch: {(redispatch ? "true" : "false")}", StringComparison.Ordinal);
}

/// <summary>What one SIPp caller run did: its exit code, its counters and which region answered each call.</summary>
internal sealed record CallerResult(int ExitCode, int Successful, int Failed, IReadOnlyDictionary<int, string> RegionByCall, IReadOnlyList<string> Errors)
{
    /// <summary>Calls answered per region.</summary>
    public IReadOnlyDictionary<string, int> PerRegion =>
        RegionByCall.Values.GroupBy(region => region, StringComparer.Ordinal).ToDictionary(group => group.Key, group => group.Count(), StringComparer.Ordinal);

    /// <summary>Percent of answered calls per region (0 for a region that answered none).</summary>
    public double PercentOf(string region) =>
        RegionByCall.Count == 0 ? 0 : 100.0 * RegionByCall.Values.Count(value => value == region) / RegionByCall.Count;

    public string Split(IEnumerable<string> regions) =>
        string.Join(" / ", regions.Select(region => string.Create(CultureInfo.InvariantCulture, $"{region} {PercentOf(region):F1} %")));
}

/// <summary>
/// SIPp as the caller: a UAC scenario that follows Record-Route, fails a call whose 200 lacks the region header, and logs
/// "&lt;call number&gt; &lt;region&gt;" for every answered call. Run as a process of the fixture's run directory, so it
/// dies with it.
/// </summary>
internal static class SippCaller
{
    public const string Scenario = SippScenarios.CallerFollowingRouteSet;

    private static int s_sequence;

    /// <summary>Starts a caller: <paramref name="calls"/> calls at <paramref name="rate"/> per second to the tier's balancer.</summary>
    public static async Task<RunningCaller> StartAsync(RunDirectory run, SipProxyTier tier, int calls, int rate)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"caller-{Interlocked.Increment(ref s_sequence)}");
        var scenario = run.PathOf("caller.xml");
        if (!File.Exists(scenario))
        {
            await File.WriteAllTextAsync(scenario, Scenario);
        }

        var tcp = tier.Environment.Balancer.Transport == BalancerTransport.Tcp;
        var spec = new ProcessSpec(name, "sipp", "sip-tester")
        {
            Arguments =
            [
                tier.SipEndPoint.ToString(),
                "-sf", scenario,
                "-i", "127.0.0.1",
                "-t", tcp ? "tn" : "u1",
                "-max_socket", "1000",
                "-m", calls.ToString(CultureInfo.InvariantCulture),
                "-r", rate.ToString(CultureInfo.InvariantCulture),
                "-rp", "1000",
                "-recv_timeout", "5000",
                "-timeout", "60s",
                "-nostdin",
                "-trace_err", "-error_file", run.PathOf($"{name}-errors.log"),
                "-trace_logs", "-log_file", run.PathOf($"{name}-calls.log"),
                "-trace_stat", "-stf", run.PathOf($"{name}-stat.csv"), "-fd", "1",
            ],
        };
        var process = await run.StartProcessAsync(spec);
        return new RunningCaller(run, name, process, TimeProvider.System.GetTimestamp(), rate);
    }
}

/// <summary>A SIPp caller still running.</summary>
internal sealed class RunningCaller(RunDirectory run, string name, ManagedProcess process, long startedAt, int rate)
{
    public ManagedProcess Process { get; } = process;

    /// <summary>When it was started (TimeProvider.System timestamp).</summary>
    public long StartedAt { get; } = startedAt;

    /// <summary>The number of the first call placed at or after <paramref name="timestamp"/> (calls are paced from the start).</summary>
    public int CallNumberAt(long timestamp) =>
        (int)Math.Ceiling(TimeProvider.System.GetElapsedTime(StartedAt, timestamp).TotalSeconds * rate) + 1;

    public async Task<CallerResult> WaitAsync()
    {
        var exit = await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        var regions = new Dictionary<int, string>();
        var log = run.PathOf($"{name}-calls.log");
        if (File.Exists(log))
        {
            foreach (var line in await File.ReadAllLinesAsync(log))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length == 2 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out var call))
                {
                    regions[call] = fields[1];
                }
            }
        }

        var stat = await SippStatistics.LastAsync(run.PathOf($"{name}-stat.csv"));
        var errors = run.PathOf($"{name}-errors.log");
        var errorLines = File.Exists(errors)
            ? (await File.ReadAllLinesAsync(errors)).Where(line => line.Contains("Aborting", StringComparison.Ordinal) || line.Contains("failed", StringComparison.OrdinalIgnoreCase)).Take(5).ToList()
            : [];
        return new CallerResult(exit.ExitCode, stat.GetValueOrDefault("SuccessfulCall(C)"), stat.GetValueOrDefault("FailedCall(C)"), regions, errorLines);
    }
}

/// <summary>SIPp's -trace_stat CSV (semicolon-separated, a header line, one line per dump).</summary>
internal static class SippStatistics
{
    /// <summary>The integer counters of the last dump, by column name.</summary>
    public static async Task<Dictionary<string, int>> LastAsync(string path)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return result;
        }

        var lines = (await File.ReadAllLinesAsync(path)).Where(line => line.Length > 0).ToList();
        if (lines.Count < 2)
        {
            return result;
        }

        var names = lines[0].Split(';');
        var values = lines[^1].Split(';');
        for (var i = 0; i < Math.Min(names.Length, values.Length); i++)
        {
            if (int.TryParse(values[i], CultureInfo.InvariantCulture, out var value))
            {
                result[names[i]] = value;
            }
        }

        return result;
    }
}

/// <summary>A SIP tier in a run directory of its own, started once per fixture; disposing stops both.</summary>
internal sealed class RunningSipTier : IAsyncDisposable
{
    private RunningSipTier(RunDirectory run, SipProxyTier tier)
    {
        Run = run;
        Tier = tier;
    }

    public RunDirectory Run { get; }

    public SipProxyTier Tier { get; }

    public static async Task<RunningSipTier> StartAsync(EnvironmentDefinition environment)
    {
        var run = RunDirectory.Create();
        try
        {
            return new RunningSipTier(run, await SipProxyTier.StartAsync(environment, run));
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Tier.DisposeAsync();
        await Run.DisposeAsync();
    }
}
