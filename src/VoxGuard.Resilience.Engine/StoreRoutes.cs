using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// How an engine in one region reaches a store node of any region: its own region's node directly, another region's
/// through the directed link from its region (the link's gateway address in its own block), so every cross-region
/// write crosses a link and is cut, delayed or blackholed with it.
/// </summary>
public sealed class StoreRoutes
{
    private readonly EnvironmentDefinition _environment;
    private readonly IReadOnlyList<InterRegionLink> _plan;

    public StoreRoutes(EnvironmentDefinition environment, RegionDefinition home)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(home);
        _environment = environment;
        _plan = InterRegionLinkPlan.For(environment);
        Home = home;
    }

    /// <summary>The engine's region.</summary>
    public RegionDefinition Home { get; }

    /// <summary>Every region, the engine's own first: where to look for a primary.</summary>
    public IReadOnlyList<RegionDefinition> SearchOrder => [Home, .. _environment.Regions.Where(region => region.Name != Home.Name)];

    /// <summary>Where the engine connects to reach <paramref name="service"/> of <paramref name="target"/>.</summary>
    public IPEndPoint To(RegionDefinition target, RegionService service)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.Name == Home.Name
            ? target.EndPointOf(service)
            : _plan.Single(link => link.From == Home.Name && link.To == target.Name && link.Service == service).Listen;
    }

    /// <summary>The region whose link-facing address of <paramref name="service"/> is <paramref name="endpoint"/> (what Sentinel reports), or null.</summary>
    public RegionDefinition? RegionAtLinkFacing(IPEndPoint endpoint, RegionService service) =>
        _environment.Regions.FirstOrDefault(region => LinkSwitchboard.LinkFacingEndPoint(region, service).Equals(endpoint));
}
