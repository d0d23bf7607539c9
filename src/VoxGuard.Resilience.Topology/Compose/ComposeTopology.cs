using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Topology.Compose;

/// <summary>
/// The miniature as <c>docker-compose.chaos.yml</c> runs it: an environment's regions, weights, links and timings with
/// every service moved to its container. One network per region (<c>10.241.&lt;index + 1&gt;.0/24</c>, internal) and an
/// edge network (<c>10.241.0.0/24</c>) where the balancer and the link server's API are published to the host.
/// </summary>
/// <remarks>
/// The compose file pins these addresses (<c>ipv4_address</c>) and the generated configurations use them; both come
/// from the host numbers here. Every region's services listen on the environment's port plus the region's index
/// (Redis 6379/6380/6381; etcd twice the index, its two ports being neighbours), so the link server — one address per region network — can hold a listener in each region for
/// every other region's service. A region reaches another region's Redis and Sentinel by name (<c>redis-abuja</c>):
/// its containers' /etc/hosts maps other regions' names to the link server's address in their own network, as
/// <see cref="DataTier.RegionHosts"/> does on loopback; Redis announces those names, and Sentinel resolves them.
/// </remarks>
public static class ComposeTopology
{
    /// <summary>The first two octets of every network of the compose file.</summary>
    public const string AddressPrefix = "10.241";

    /// <summary>The balancer (HAProxy) in every network: published on the edge, one leg into each region.</summary>
    public const int BalancerHost = 10;

    /// <summary>A region's Kamailio.</summary>
    public const int KamailioHost = 11;

    /// <summary>A region's engine stand-in.</summary>
    public const int EngineHost = 12;

    /// <summary>A region's Redis.</summary>
    public const int RedisHost = 13;

    /// <summary>A region's Sentinel.</summary>
    public const int SentinelHost = 14;

    /// <summary>A region's etcd member (client and peer ports on one address, as in <c>local</c>).</summary>
    public const int EtcdHost = 15;

    /// <summary>A region's PostgreSQL and its Patroni (one container: Patroni runs PostgreSQL).</summary>
    public const int PostgresHost = 16;

    /// <summary>The link server in every network: the API on the edge, the links' listeners in the regions.</summary>
    public const int LinkServerHost = 200;

    /// <summary>The services that cross regions in the compose file.</summary>
    public static IReadOnlyList<RegionService> LinkedServices { get; } =
        [RegionService.Redis, RegionService.Sentinel, RegionService.Etcd, RegionService.EtcdPeer, RegionService.Postgres, RegionService.Patroni];

    /// <summary>The edge network: the balancer and the link server's API, published to the host.</summary>
    public static IPNetwork EdgeNetwork { get; } = IPNetwork.Parse($"{AddressPrefix}.0.0/24");

    /// <summary>The network of the region at <paramref name="index"/> in the environment.</summary>
    public static IPNetwork RegionNetwork(int index) => IPNetwork.Parse($"{AddressPrefix}.{index + 1}.0/24");

    /// <summary>Host <paramref name="host"/> of the region network at <paramref name="index"/>.</summary>
    public static IPAddress RegionAddress(int index, int host) => IPAddress.Parse($"{AddressPrefix}.{index + 1}.{host}");

    /// <summary>Host <paramref name="host"/> of the edge network.</summary>
    public static IPAddress EdgeAddress(int host) => IPAddress.Parse($"{AddressPrefix}.0.{host}");

    /// <summary>
    /// The name by which every region reaches <paramref name="region"/>'s <paramref name="service"/> (redis-lagos,
    /// sentinel-lagos); an etcd member's peer side shares its client side's name (<see cref="DataTier.RegionHosts.Etcd"/>).
    /// </summary>
    public static string HostName(string region, RegionService service) =>
        service == RegionService.EtcdPeer ? DataTier.RegionHosts.Etcd(region) : $"{service.LinkSuffix()}-{region}";

    /// <summary>
    /// <paramref name="environment"/> with every region's SIP proxy, engine, Redis, Sentinel, etcd member and PostgreSQL (Patroni) at its container's
    /// address and port, and the balancer on every interface of its container (0.0.0.0). Weights, links, profile
    /// timings and targets are the environment's own.
    /// </summary>
    public static EnvironmentDefinition For(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var regions = environment.Regions.Select((region, index) => region with
        {
            AddressBlock = RegionNetwork(index),
            Sip = new SipEndpoint(RegionAddress(index, KamailioHost), region.Sip.UdpPort + index, region.Sip.TcpPort + index),
            Engine = new ServiceEndpoint(RegionAddress(index, EngineHost), region.Engine.Port + index),
            Redis = new ServiceEndpoint(RegionAddress(index, RedisHost), region.Redis.Port + index),
            Sentinel = new ServiceEndpoint(RegionAddress(index, SentinelHost), region.Sentinel.Port + index),
            // Twice the index: client and peer ports are neighbours (2379/2380), and the link server holds every other
            // region's both in one address of each region network (Abuja 2381/2382, Asaba 2383/2384).
            Etcd = new ServiceEndpoint(RegionAddress(index, EtcdHost), region.Etcd.Port + (2 * index)),
            EtcdPeer = new ServiceEndpoint(RegionAddress(index, EtcdHost), region.EtcdPeer.Port + (2 * index)),
            Postgres = new ServiceEndpoint(RegionAddress(index, PostgresHost), region.Postgres.Port + index),
            Patroni = new ServiceEndpoint(RegionAddress(index, PostgresHost), region.Patroni.Port + index),
        }).ToList();
        return environment with
        {
            Description = $"{environment.Description} As docker-compose.chaos.yml runs it.",
            Regions = regions,
            Balancer = environment.Balancer with { Address = IPAddress.Any },
        };
    }

    /// <summary>
    /// Every directed link of the compose topology (<paramref name="compose"/> from <see cref="For"/>): named as in
    /// <c>local</c> (<c>abuja-lagos-redis</c>), listening on the link server's address in the calling region's network on
    /// the target service's port, forwarding to the service's container.
    /// </summary>
    public static IReadOnlyList<InterRegionLink> LinksFor(EnvironmentDefinition compose)
    {
        ArgumentNullException.ThrowIfNull(compose);
        var regions = compose.Regions.ToList();
        return InterRegionLinkPlan.For(compose, LinkedServices, (from, to, service) =>
            new IPEndPoint(RegionAddress(regions.FindIndex(region => region.Name == from.Name), LinkServerHost), to.EndPointOf(service).Port));
    }

    /// <summary>
    /// The /etc/hosts lines of <paramref name="observer"/>'s containers: its own services' names at their addresses,
    /// every other region's at the link server's address in <paramref name="observer"/>'s network.
    /// </summary>
    public static IReadOnlyList<string> HostsOf(EnvironmentDefinition compose, RegionDefinition observer)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(observer);
        var observerIndex = compose.Regions.ToList().FindIndex(region => region.Name == observer.Name);
        return
        [
            .. (from region in compose.Regions
                from service in LinkedServices
                let address = region.Name == observer.Name ? region.EndPointOf(service).Address : RegionAddress(observerIndex, LinkServerHost)
                select $"{HostName(region.Name, service)}:{address}").Distinct(StringComparer.Ordinal),
        ];
    }
}
