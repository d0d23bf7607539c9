using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// Starts the harness's own ACM engine (<c>voxguard-engine</c>) as each region's engine process, from the same
/// environment (its YAML written into the run directory) and profile; each engine's write log is
/// <see cref="WriteLogPath"/>.
/// </summary>
public sealed class EngineLauncher : IEngineLauncher
{
    /// <summary>The environment file every engine of a run loads.</summary>
    public const string EnvironmentFile = "environment.yaml";

    /// <summary>The one instance.</summary>
    public static EngineLauncher Instance { get; } = new();

    /// <summary>Rounds of calls an engine answers before it is ready for load (<see cref="ReadyForLoadAsync"/>).</summary>
    public const int ReadyRounds = 3;

    /// <summary>Calls at once in each round.</summary>
    public const int ReadyCallsPerRound = 4;

    /// <summary>How long an engine has to pass (default 30 s: a data tier that has just been verified healthy may take seconds to settle).</summary>
    public TimeSpan ReadyWithin { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The engine program, next to the harness's own assemblies (every project referencing this one gets a copy).</summary>
    public static string EngineAssembly => Path.Combine(AppContext.BaseDirectory, "voxguard-engine.dll");

    /// <summary>Where a region's engine logs its writes.</summary>
    public static string WriteLogPath(RunDirectory run, string region)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run.PathOf($"{region}-writes.tsv");
    }

    /// <inheritdoc/>
    public async Task PrepareAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        if (environment.Yaml.Length == 0)
        {
            throw new InvalidOperationException($"Environment {environment.Name} was built in code, not read from YAML; the engines load it from YAML. Load it with EnvironmentLoader.");
        }

        if (!File.Exists(EngineAssembly))
        {
            throw new InvalidOperationException($"The engine program {EngineAssembly} is missing; build the solution (./resilience builds it).");
        }

        await File.WriteAllTextAsync(run.PathOf(EnvironmentFile), environment.Yaml, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ProcessSpec SpecFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        var arguments = new List<string> { EngineAssembly, "--environment-file", run.PathOf(EnvironmentFile), "--region", region.Name, "--write-log", WriteLogPath(run, region.Name) };
        if (environment.Profile is { } profile)
        {
            arguments.AddRange(["--profile", profile.Name]);
        }

        return new ProcessSpec(EngineStandIn.ProcessName(region), DotnetHost, "dotnet-sdk-10.0")
        {
            Arguments = arguments,
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
        };
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <see cref="ReadyRounds"/> rounds of <see cref="ReadyCallsPerRound"/> calls at once through the region's proxy
    /// (TCP), each answered 200 by its engine, which answers only once both writes were acknowledged. The topology asks
    /// once every store and the balancer are verified healthy, never while the stores bootstrap (its start relies on no
    /// engine touching a store before then; session 19's warm-up as the engines started broke that rule). It proves the data path
    /// end to end, and it is the engine's warm-up, as a production engine is warm long before a drill: a fresh engine met
    /// its first calls with the store clients' code still to compile and no connection open, and the first second of 50
    /// calls/s took up to 2.5 s to set up on a quiet host, 4–5 s in CI, where SIPp gave up on calls at 5 s. Calls at
    /// once, so that each pool holds a few connections. The calls are real: their writes are logged, acknowledged and
    /// kept like any other.
    /// </remarks>
    public async Task<string?> ReadyForLoadAsync(RegionDefinition region, ManagedProcess engine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(engine);
        await using var caller = new SipUserAgentClient();
        var started = Stopwatch.GetTimestamp();
        var answeredRounds = 0;
        TimeSpan? firstRoundSlowest = null;
        await engine.WaitUntilReadyAsync(
            WaitStrategy.Until(
                string.Create(CultureInfo.InvariantCulture, $"{ReadyRounds} rounds of {ReadyCallsPerRound} calls at once through {region.Name}'s proxy answered by its engine"),
                async cancel =>
                {
                    var calls = await Task.WhenAll(Enumerable.Range(0, ReadyCallsPerRound).Select(_ =>
                        caller.CallAsync(region.Sip.TcpEndPoint, new CallOptions { Transport = SipTransportKind.Tcp }, cancel))).ConfigureAwait(false);
                    if (calls.FirstOrDefault(call => !call.Succeeded) is { } failed)
                    {
                        throw new InvalidOperationException($"a call ended {failed.Outcome}: {failed.FailureReason}");
                    }

                    firstRoundSlowest ??= calls.Max(call => call.TimeToAnswer);
                    return ++answeredRounds == ReadyRounds;
                })
                .WithTimeout(ReadyWithin)
                .WithInterval(TimeSpan.FromMilliseconds(100)),
            cancellationToken).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture,
            $"{region.Name}'s engine answered {ReadyRounds}×{ReadyCallsPerRound} calls through its proxy in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms (first round's slowest {firstRoundSlowest?.TotalMilliseconds:F0} ms)");
    }

    // The host running the harness (dotnet), so the engine runs on the same runtime.
    private static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
}
