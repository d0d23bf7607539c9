using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// Makes each region of an environment with <c>hosts: containers</c> a host of its own, and places the run's region
/// servers in them (<see cref="RunDirectory.PlaceRegion"/>). Implemented where the container engine is
/// (VoxGuard.Resilience.Containers), so the topology itself needs no engine.
/// </summary>
public interface IRegionHostProvider
{
    /// <summary>
    /// Makes the hosts before any server starts; the result removes them once every server of the run was stopped (it
    /// must work after the run directory was disposed: containers and networks are removed without the run's processes).
    /// </summary>
    Task<IRegionHosts> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken);

    /// <summary>What the hosts are, for people ("three Podman containers, one network each").</summary>
    string Describe(EnvironmentDefinition environment);
}
