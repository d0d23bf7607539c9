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

    /// <summary>
    /// Gives the host of <paramref name="region"/> one more address of its block (a restored copy's, beside the
    /// topology), on its interface, so a server started in its namespace can bind it and this machine reach it. An
    /// address the host holds already is left as it is.
    /// </summary>
    Task AddAddressAsync(string region, System.Net.IPAddress address, CancellationToken cancellationToken);
}
