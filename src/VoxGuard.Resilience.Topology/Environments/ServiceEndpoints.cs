using System.Net;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>The services every region runs; each one crosses a link to reach another region.</summary>
public enum RegionService
{
    Sip,
    Engine,
    Redis,
    Sentinel,
    Postgres,

    /// <summary>Patroni's REST API beside the region's PostgreSQL (health endpoints, switchover, leader race).</summary>
    Patroni,

    /// <summary>The region's etcd member, client side (Patroni's distributed configuration store).</summary>
    Etcd,

    /// <summary>The region's etcd member, peer side (Raft between members).</summary>
    EtcdPeer,

    /// <summary>The pgBackRest TLS server of the region's database host (backups, WAL archive, restores).</summary>
    PgBackRest,
}

/// <summary>A transport a socket is bound for; UDP and TCP may share a port.</summary>
public enum TransportProtocol
{
    Udp,
    Tcp,
}

/// <summary>Names used in YAML keys and link names.</summary>
public static class RegionServices
{
    /// <summary>Every service, in the order links are expanded.</summary>
    public static IReadOnlyList<RegionService> All { get; } =
        [RegionService.Sip, RegionService.Engine, RegionService.Redis, RegionService.Sentinel, RegionService.Postgres,
         RegionService.Patroni, RegionService.Etcd, RegionService.EtcdPeer, RegionService.PgBackRest];

    /// <summary>The suffix of the link carrying this service: sip, engine, redis, sentinel, pg, patroni, etcd, etcd-peer, pgbackrest.</summary>
    public static string LinkSuffix(this RegionService service) => service switch
    {
        RegionService.Sip => "sip",
        RegionService.Engine => "engine",
        RegionService.Redis => "redis",
        RegionService.Sentinel => "sentinel",
        RegionService.Postgres => "pg",
        RegionService.Patroni => "patroni",
        RegionService.Etcd => "etcd",
        RegionService.EtcdPeer => "etcd-peer",
        RegionService.PgBackRest => "pgbackrest",
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "Unknown region service."),
    };

    /// <summary>The key of this service in a region of the YAML file: sip, engine, redis, sentinel, postgres, patroni, etcd, etcd_peer, pgbackrest.</summary>
    public static string YamlKey(this RegionService service) => service switch
    {
        RegionService.Postgres => "postgres",
        RegionService.EtcdPeer => "etcd_peer",
        _ => service.LinkSuffix(),
    };

    internal static string Name(this TransportProtocol protocol) => protocol == TransportProtocol.Udp ? "udp" : "tcp";
}

/// <summary>A TCP service of a region: one address and one port.</summary>
public sealed record ServiceEndpoint(IPAddress Address, int Port)
{
    public IPEndPoint EndPoint => new(Address, Port);

    public override string ToString() => $"{Address}:{Port}";
}

/// <summary>The SIP proxy of a region, listening on UDP and TCP (usually the same port, 5060).</summary>
public sealed record SipEndpoint(IPAddress Address, int UdpPort, int TcpPort)
{
    public IPEndPoint UdpEndPoint => new(Address, UdpPort);

    public IPEndPoint TcpEndPoint => new(Address, TcpPort);

    public override string ToString() => $"{Address} udp {UdpPort} tcp {TcpPort}";
}

/// <summary>One socket a region binds.</summary>
public sealed record ServiceBinding(RegionService Service, TransportProtocol Protocol, IPEndPoint EndPoint);
