using System.Runtime.InteropServices;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;

// voxguard-engine --environment-file <yaml> [--profile <name>] --region <name> --write-log <path> [--hosting compose]
// One region's ACM engine stand-in; started by the harness (EngineLauncher), stopped by SIGTERM or killed with its region.
// --hosting compose: inside docker-compose.chaos.yml, where every service sits at its container's address
// (ComposeTopology.For) and the links are the compose file's.
InlineSocketCompletions.Enable();
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i]] = args[i + 1];
}

if (!options.TryGetValue("--environment-file", out var environmentFile) || !options.TryGetValue("--region", out var region) || !options.TryGetValue("--write-log", out var writeLog)
    || args.Length % 2 != 0 || options.GetValueOrDefault("--hosting", "local") is not ("local" or "compose"))
{
    await Console.Error.WriteLineAsync("usage: voxguard-engine --environment-file <yaml> [--profile <name>] --region <name> --write-log <path> [--hosting local|compose]");
    return 2;
}

AcmEngine engine;
try
{
    var environment = EnvironmentLoader.LoadFile(environmentFile, options.GetValueOrDefault("--profile"));
    if (options.GetValueOrDefault("--hosting") == "compose")
    {
        var compose = ComposeTopology.For(environment);
        // The compose file's region networks are the project's own (docker-compose creates and removes them): the
        // network rule admits them as it admits a containers run's.
        foreach (var index in Enumerable.Range(0, compose.Regions.Count))
        {
            NetworkRule.DeclareOwn(ComposeTopology.RegionNetwork(index));
        }

        engine = AcmEngine.Start(compose, region, writeLog, ComposeTopology.LinksFor(compose));
    }
    else
    {
        engine = AcmEngine.Start(environment, region, writeLog);
    }
}
catch (Exception exception) when (exception is EnvironmentException or IOException or System.Net.Sockets.SocketException or InvalidOperationException)
{
    await Console.Error.WriteLineAsync($"voxguard-engine: {exception.Message}");
    return 2;
}

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
await using (engine)
{
    Console.WriteLine($"voxguard-engine: {region} answering; writes logged to {writeLog}");
    var warming = WarmUpAsync(engine.DataPath);
    try
    {
        await Task.Delay(Timeout.Infinite, stopping.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine($"voxguard-engine: {region} stopping ({engine.Counters})");
    }

    await warming;
}

return 0;

// In the background, as calls may already come: connections open to both primaries before the first calls need them.
async Task WarmUpAsync(CallDataPath dataPath)
{
    var started = System.Diagnostics.Stopwatch.GetTimestamp();
    var warm = await dataPath.WarmUpAsync(WarmConnections, WarmUpWithin, stopping.Token);
    var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    Console.WriteLine(warm
        ? $"voxguard-engine: {region} data path warm in {elapsed:F0} ms ({WarmConnections} connections each to postgres at {dataPath.Postgres.Primary.Name}, redis at {dataPath.Redis.Master.Name})"
        : $"voxguard-engine: {region} data path not warmed in {elapsed:F0} ms (stores unreachable or stopping); calls open their connections as they come");
}

internal static partial class Program
{
    // A few connections each: at 50-1000 calls/s a write holds one for a few milliseconds, and the pool opens more on demand.
    private const int WarmConnections = 4;

    // The stores start beside the engines (up to ~30 s with Patroni's bootstrap), or a restarted engine's may be cut off.
    private static readonly TimeSpan WarmUpWithin = TimeSpan.FromMinutes(2);
}
