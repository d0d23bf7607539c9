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

    // The host running the harness (dotnet), so the engine runs on the same runtime.
    private static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
}
