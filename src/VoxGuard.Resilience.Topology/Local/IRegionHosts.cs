namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// The regions' hosts an <see cref="IRegionHostProvider"/> made for a run: a region's loss takes its host with it (its
/// network stack and addresses gone), its rejoin brings the host back first. Disposing removes every host once every
/// server of the run was stopped.
/// </summary>
public interface IRegionHosts : IAsyncDisposable
{
    /// <summary>
    /// Kills the host of <paramref name="region"/> (its container): its addresses are gone and packets to them go
    /// unanswered. Returns once the engine reports it stopped. A host already lost stays as it is.
    /// </summary>
    Task LoseAsync(string region, CancellationToken cancellationToken);

    /// <summary>
    /// Brings a lost host back with the same addresses and routes, and places the region's servers in its new network
    /// namespace (<see cref="Processes.RunDirectory.PlaceRegion"/>): every server started afterwards enters it. A
    /// running host is left as it is. Returns whether it had to bring the host back.
    /// </summary>
    Task<bool> RestoreAsync(string region, CancellationToken cancellationToken);
}
