using System.Net;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>What a region does for writes.</summary>
public enum RegionRole
{
    /// <summary>Takes the writes (Lagos in the deployment guide); exactly one per environment.</summary>
    Primary,

    /// <summary>Reads and replicates from the primary; a failover target.</summary>
    Replica,
}

/// <summary>
/// One region of the topology: its loopback block, its share of traffic, its failover priority and
/// where each of its services listens.
/// </summary>
/// <param name="Name">Lower-case name (lagos, abuja, asaba); used in link names, so no hyphens.</param>
/// <param name="Role">Primary or replica.</param>
/// <param name="AddressBlock">The loopback block every service of the region binds in, e.g. 127.0.1.0/24.</param>
/// <param name="Weight">Share of traffic in percent (70/15/15); the weights of an environment sum to 100.</param>
/// <param name="Priority">Failover order for the active/standby profile of the geo-redundancy guide; 1 is first.</param>
/// <param name="Sip">The SIP proxy (Kamailio standing in for OpenSIPS).</param>
/// <param name="Engine">The ACM detection engine stand-in.</param>
/// <param name="Redis">Redis standing in for DragonflyDB.</param>
/// <param name="Sentinel">The Redis Sentinel watching the data tier.</param>
/// <param name="Postgres">PostgreSQL standing in for YugabyteDB.</param>
/// <param name="Patroni">Patroni's REST API, the orchestrator of the region's PostgreSQL.</param>
/// <param name="Etcd">The region's etcd member: where clients (Patroni) reach it.</param>
/// <param name="EtcdPeer">The region's etcd member: where the other members reach it (Raft).</param>
public sealed record RegionDefinition(
    string Name,
    RegionRole Role,
    IPNetwork AddressBlock,
    int Weight,
    int Priority,
    SipEndpoint Sip,
    ServiceEndpoint Engine,
    ServiceEndpoint Redis,
    ServiceEndpoint Sentinel,
    ServiceEndpoint Postgres,
    ServiceEndpoint Patroni,
    ServiceEndpoint Etcd,
    ServiceEndpoint EtcdPeer)
{
    /// <summary>Patroni's REST API port when the file names none (Patroni's own default), on the PostgreSQL address.</summary>
    public const int DefaultPatroniPort = 8008;

    /// <summary>etcd's client port when the file names none (etcd's own default), on the PostgreSQL address.</summary>
    public const int DefaultEtcdPort = 2379;

    /// <summary>etcd's peer port when the file names none (etcd's own default), on the PostgreSQL address.</summary>
    public const int DefaultEtcdPeerPort = 2380;

    /// <summary>pgBackRest's TLS server port when the file names none (pgBackRest's own default), on the PostgreSQL address.</summary>
    public const int DefaultPgBackRestPort = 8432;

    private readonly ServiceEndpoint? _pgBackRest;

    /// <summary>
    /// The block's first host address (127.0.1.1, 10.231.1.1). With <c>hosts: containers</c> it is this machine's side of
    /// the region's network (the bridge), the address this machine reaches the region from; no server may take it.
    /// </summary>
    public IPAddress HostSideAddress => HostSideOf(AddressBlock);

    /// <summary>The first host address of <paramref name="block"/> (10.231.1.0/24: 10.231.1.1), see <see cref="HostSideAddress"/>.</summary>
    public static IPAddress HostSideOf(IPNetwork block)
    {
        var bytes = block.BaseAddress.GetAddressBytes();
        bytes[^1] += 1;
        return new IPAddress(bytes);
    }

    public bool IsPrimary => Role == RegionRole.Primary;

    /// <summary>
    /// The pgBackRest TLS server of the region's database host: where backups read the region's PostgreSQL and where
    /// the region's repository (if it holds one) is written. Default: the PostgreSQL address, port 8432.
    /// </summary>
    public ServiceEndpoint PgBackRest
    {
        get => _pgBackRest ?? new ServiceEndpoint(Postgres.Address, DefaultPgBackRestPort);
        init => _pgBackRest = value;
    }

    /// <summary>The TCP endpoint of a service (SIP: its TCP port).</summary>
    public IPEndPoint EndPointOf(RegionService service) => service switch
    {
        RegionService.Sip => Sip.TcpEndPoint,
        RegionService.Engine => Engine.EndPoint,
        RegionService.Redis => Redis.EndPoint,
        RegionService.Sentinel => Sentinel.EndPoint,
        RegionService.Postgres => Postgres.EndPoint,
        RegionService.Patroni => Patroni.EndPoint,
        RegionService.Etcd => Etcd.EndPoint,
        RegionService.EtcdPeer => EtcdPeer.EndPoint,
        RegionService.PgBackRest => PgBackRest.EndPoint,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "Unknown region service."),
    };

    /// <summary>Every socket the region binds, SIP once per transport.</summary>
    public IReadOnlyList<ServiceBinding> Bindings() =>
    [
        new(RegionService.Sip, TransportProtocol.Udp, Sip.UdpEndPoint),
        new(RegionService.Sip, TransportProtocol.Tcp, Sip.TcpEndPoint),
        new(RegionService.Engine, TransportProtocol.Tcp, Engine.EndPoint),
        new(RegionService.Redis, TransportProtocol.Tcp, Redis.EndPoint),
        new(RegionService.Sentinel, TransportProtocol.Tcp, Sentinel.EndPoint),
        new(RegionService.Postgres, TransportProtocol.Tcp, Postgres.EndPoint),
        new(RegionService.Patroni, TransportProtocol.Tcp, Patroni.EndPoint),
        new(RegionService.Etcd, TransportProtocol.Tcp, Etcd.EndPoint),
        new(RegionService.EtcdPeer, TransportProtocol.Tcp, EtcdPeer.EndPoint),
        new(RegionService.PgBackRest, TransportProtocol.Tcp, PgBackRest.EndPoint),
    ];
}
