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
    try
    {
        await Task.Delay(Timeout.Infinite, stopping.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine($"voxguard-engine: {region} stopping ({engine.Counters})");
    }
}

return 0;
