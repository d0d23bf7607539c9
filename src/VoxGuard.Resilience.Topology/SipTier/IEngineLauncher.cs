using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// What stands behind each region's SIP proxy at the engine address, and how to start it: the SIPp stand-in by default
/// (<see cref="SippEngineLauncher"/>), the harness's own ACM engine where calls must perform the data path.
/// </summary>
public interface IEngineLauncher
{
    /// <summary>Writes what every engine of the run needs (scenario, configuration) before any starts.</summary>
    Task PrepareAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken);

    /// <summary>The process of one region's engine; it must bind the region's engine address (UDP) when ready.</summary>
    ProcessSpec SpecFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region);

    /// <summary>
    /// Called once the whole topology is verified healthy, before it is declared so: proves <paramref name="engine"/>
    /// serves calls end to end and leaves it ready for load. Returns what it did, for the start's steps, or null when
    /// the engine needs nothing.
    /// </summary>
    /// <exception cref="ServerProcessException">The engine exited, or did not serve calls in time.</exception>
    Task<string?> ReadyForLoadAsync(RegionDefinition region, ManagedProcess engine, CancellationToken cancellationToken);
}

/// <summary>The SIPp UAS stand-in (<see cref="EngineStandIn"/>): answers every call, no data path.</summary>
public sealed class SippEngineLauncher : IEngineLauncher
{
    /// <summary>The one instance.</summary>
    public static SippEngineLauncher Instance { get; } = new();

    /// <inheritdoc/>
    public Task PrepareAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken) =>
        EngineStandIn.WriteFilesAsync(run, cancellationToken);

    /// <inheritdoc/>
    public ProcessSpec SpecFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region) => EngineStandIn.SpecFor(run, region);

    /// <inheritdoc/>
    /// <remarks>Nothing: SIPp is a native program with no data path, ready once it is bound.</remarks>
    public Task<string?> ReadyForLoadAsync(RegionDefinition region, ManagedProcess engine, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
