using System.Net;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Links;

/// <summary>
/// Turns an environment into its inter-region links: for every pair of regions and every TCP service, one link in
/// each direction (replication and failover can run either way once a replica is promoted).
/// </summary>
/// <remarks>
/// Region X reaches region Y through Y's gateway address in X's own block, <c>&lt;X's block&gt;.&lt;100 + Y's index&gt;</c>
/// (local: Abuja reaches Lagos at 127.0.2.100, Asaba at 127.0.2.102), on the port the service has in Y. So every
/// inter-region byte crosses the link server, and cutting a region's links cuts it off while clients inside the
/// region still reach its own services. SIP crosses regions over TCP here; the balancer's way to each region's SIP proxy
/// is an access link of its own (<see cref="BalancerAccessLinkPlan"/>), UDP for the dispatcher.
/// </remarks>
public static class InterRegionLinkPlan
{
    /// <summary>The host number of the first gateway address in a region's block.</summary>
    public const int FirstGatewayHost = 100;

    /// <summary>Every directed link of the environment, in a stable order (pairs as in the file, then services, then direction).</summary>
    public static IReadOnlyList<InterRegionLink> For(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return For(environment, TcpServices,
            (from, to, service) => new IPEndPoint(GatewayAddress(environment, from, to), to.EndPointOf(service).Port));
    }

    /// <summary>
    /// The directed links of <paramref name="services"/>, in the same order, each listening where <paramref name="listen"/>
    /// says clients in its first region reach that service of its second (the compose file: the link server's address
    /// in the caller's network) and forwarding to the service itself.
    /// </summary>
    public static IReadOnlyList<InterRegionLink> For(
        EnvironmentDefinition environment, IEnumerable<RegionService> services, Func<RegionDefinition, RegionDefinition, RegionService, IPEndPoint> listen)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(listen);
        var links = new List<InterRegionLink>();
        foreach (var serviceLink in environment.ExpandLinks(services))
        {
            var a = environment.Region(serviceLink.From);
            var b = environment.Region(serviceLink.To);
            links.Add(Directed(a, b, serviceLink.Service, serviceLink.Latency, listen));
            links.Add(Directed(b, a, serviceLink.Service, serviceLink.Latency, listen));
        }

        return links;
    }

    /// <summary>Where clients in <paramref name="from"/> reach <paramref name="to"/>'s services.</summary>
    public static IPAddress GatewayAddress(EnvironmentDefinition environment, RegionDefinition from, RegionDefinition to)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var index = environment.Regions.ToList().FindIndex(region => region.Name == to.Name);
        var block = from.AddressBlock.BaseAddress.GetAddressBytes();
        var host = FirstGatewayHost + index;
        if (block.Length != 4 || from.AddressBlock.PrefixLength > 24 || host > 254)
        {
            throw new InvalidOperationException(
                $"Region {from.Name}'s block {from.AddressBlock} leaves no gateway address for {to.Name}: inter-region links need an IPv4 block of /24 or larger.");
        }

        block[3] = (byte)host;
        var gateway = new IPAddress(block);
        if (from.Bindings().Any(binding => binding.EndPoint.Address.Equals(gateway)))
        {
            throw new InvalidOperationException(
                $"Region {from.Name} has a service on {gateway}, the gateway address for reaching {to.Name}: keep service addresses below .{FirstGatewayHost}.");
        }

        return gateway;
    }

    /// <summary>
    /// The host number of the address the links into a region connect from on a containers environment
    /// (<c>&lt;block&gt;.201</c>, on this machine's side of the region's network): the harness and the balancer reach the
    /// region from the network's first address, so a packet filter inside the region can tell the two apart.
    /// </summary>
    public const int LinkSourceHost = 201;

    /// <summary>The address the links into <paramref name="region"/> connect from on a containers environment.</summary>
    public static IPAddress LinkSourceAddress(RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var block = region.AddressBlock.BaseAddress.GetAddressBytes();
        block[3] = LinkSourceHost;
        return new IPAddress(block);
    }

    /// <summary>
    /// For <c>LinkServerOptions.UpstreamSource</c> on a containers environment: a link into a region's service connects
    /// from the region's <see cref="LinkSourceAddress"/>; the balancer's access links (to a SIP proxy) and anything
    /// outside every block from the kernel's choice.
    /// </summary>
    public static Func<IPEndPoint, IPAddress?> UpstreamSources(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return upstream => environment.Regions.FirstOrDefault(region => region.AddressBlock.Contains(upstream.Address)) is { } region
                           && !upstream.Address.Equals(region.Sip.Address)
            ? LinkSourceAddress(region)
            : null;
    }

    /// <summary>
    /// Every address through which <paramref name="region"/> exchanges bytes with the other regions, all of them the
    /// link server's: the gateway addresses in its own block (one per other region), the address the links into it
    /// connect from (<see cref="LinkSourceAddress"/>), and the other regions' link-facing addresses
    /// (<see cref="LinkSwitchboard.LinkFacingEndPoint"/>). Cutting these cuts the region off and nothing else.
    /// </summary>
    public static IReadOnlyList<IPAddress> InterRegionAddressesOf(EnvironmentDefinition environment, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var others = environment.Regions.Where(other => other.Name != region.Name).ToList();
        return
        [
            .. others.Select(other => GatewayAddress(environment, region, other)),
            LinkSourceAddress(region),
            .. others.Select(other => LinkSwitchboard.LinkFacingEndPoint(other, RegionService.Redis).Address),
        ];
    }

    /// <summary>The services that cross regions through the link server (every TCP one).</summary>
    public static IReadOnlyList<RegionService> TcpServices { get; } = RegionServices.All;

    private static InterRegionLink Directed(
        RegionDefinition from, RegionDefinition to, RegionService service, TimeSpan latency, Func<RegionDefinition, RegionDefinition, RegionService, IPEndPoint> listen) =>
        new(
            $"{from.Name}-{to.Name}-{service.LinkSuffix()}",
            from.Name,
            to.Name,
            service,
            listen(from, to, service),
            to.EndPointOf(service),
            latency);
}
