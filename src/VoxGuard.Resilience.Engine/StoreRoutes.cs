using System.Net;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// How an engine in one region reaches a store node of any region: its own region's node directly, another region's
/// through the directed link from its region (the link's gateway address in its own block), so every cross-region
/// write crosses a link and is cut, delayed or blackholed with it. In docker-compose.chaos.yml the links are the compose
/// file's (<see cref="ComposeTopology.LinksFor"/>) and stores are named as the containers' /etc/hosts name them.
/// </summary>
public sealed class StoreRoutes
{
    private readonly EnvironmentDefinition _environment;
    private readonly IReadOnlyList<InterRegionLink> _plan;

    /// <param name="environment">The environment as the engine runs in it.</param>
    /// <param name="home">The engine's region.</param>
    /// <param name="links">The directed links between regions; by default the environment's own plan (local, containers).</param>
    public StoreRoutes(EnvironmentDefinition environment, RegionDefinition home, IReadOnlyList<InterRegionLink>? links = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(home);
        _environment = environment;
        _plan = links ?? InterRegionLinkPlan.For(environment);
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

    /// <summary>
    /// The region of the <paramref name="service"/> node Sentinel names by <paramref name="host"/>: a link-facing address
    /// (local, containers), or a name such as <c>redis-lagos</c> (docker-compose.chaos.yml announces names); null if none.
    /// </summary>
    public RegionDefinition? RegionAt(string host, int port, RegionService service) =>
        IPAddress.TryParse(host, out var address)
            ? RegionAtLinkFacing(new IPEndPoint(address, port), service)
            : _environment.Regions.FirstOrDefault(region => ComposeTopology.HostName(region.Name, service) == host && region.EndPointOf(service).Port == port);
}
