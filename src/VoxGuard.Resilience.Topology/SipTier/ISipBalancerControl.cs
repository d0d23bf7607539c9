namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>The admin side of the global balancer, whichever program it is.</summary>
internal interface ISipBalancerControl
{
    Task<IReadOnlyList<BalancerServerState>> StatesAsync(CancellationToken cancellationToken);

    Task SetWeightsAsync(IReadOnlyDictionary<string, int> weights, CancellationToken cancellationToken);

    Task SetAdminStateAsync(string region, BalancerAdminState state, CancellationToken cancellationToken);
}
