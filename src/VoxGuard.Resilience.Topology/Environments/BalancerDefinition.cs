using System.Net;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>How the global balancer carries SIP to the regions.</summary>
public enum BalancerTransport
{
    Tcp,
    Udp,
}

/// <summary>How the global balancer picks a region.</summary>
public enum BalancerMode
{
    /// <summary>Source-IP hashing (the guide's session affinity); with few clients the split is the luck of the hash.</summary>
    Source,

    /// <summary>Weighted round robin over connections: gives the 70/15/15 split exactly.</summary>
    RoundRobin,

    /// <summary>
    /// Active/standby by region priority (the geo-redundancy guide): every call to priority 1; on its failure to the
    /// next healthy priority; back only after the failback delay at the health threshold. HAProxy backup servers in
    /// priority order, with a failover controller holding the failback.
    /// </summary>
    Priority,
}

/// <summary>
/// The balancer's health checks (SIP OPTIONS): a region is marked down after <see cref="Fall"/> consecutive failed
/// checks and up again after <see cref="Rise"/> consecutive good ones.
/// </summary>
public sealed record HealthCheck(TimeSpan Interval, TimeSpan Timeout, int Rise, int Fall)
{
    /// <summary>
    /// Worst-case time from a region's death to the balancer marking it down: <see cref="Interval"/> × <see cref="Fall"/>.
    /// With the guide's timings (10 s × 5) that is 50 s, more than the 30 s failover target on its own.
    /// </summary>
    public TimeSpan DetectionTime => Interval * Fall;

    /// <summary>Time from a region's return to the balancer marking it up: <see cref="Interval"/> × <see cref="Rise"/>.</summary>
    public TimeSpan RecoveryTime => Interval * Rise;

    /// <summary>True when detection alone fits strictly inside <paramref name="target"/> (the guide's "&lt; 30 s").</summary>
    public bool CanDetectWithin(TimeSpan target) => DetectionTime < target;
}

/// <summary>Keeps a caller on the region that served it (the guide: source IP, 30 minutes).</summary>
public sealed record SessionAffinity(TimeSpan Timeout);

/// <summary>
/// The guide's circuit breaker ("5 consecutive failures: mark server down, redirect to backup; recovery automatic"): a
/// region to which <see cref="FailuresToOpen"/> calls in a row fail at the transport — HAProxy: a connection refused or
/// timed out; the dispatcher: no reply at all — is marked down at once, without waiting for its health checks to fall.
/// It comes back through its health checks, after <see cref="SuccessesToClose"/> good ones (which must be the checks'
/// rise: neither balancer has a separate count). While calls flow, this is what detects a dead region first.
/// </summary>
/// <param name="FailuresToOpen">Consecutive failed calls that mark a region down.</param>
/// <param name="SuccessesToClose">Consecutive good health checks that bring it back (the checks' rise).</param>
/// <param name="Enabled">Off: only the health checks mark a region down (a negative control's balancer).</param>
public sealed record CircuitBreaker(int FailuresToOpen, int SuccessesToClose, bool Enabled = true);

/// <summary>
/// The carrier/WAN access legs from the global balancer to each region's SIP proxy, as links of the link server (one per
/// region, <c>balancer-&lt;region&gt;-sip</c>: UDP for the dispatcher, TCP for HAProxy), so that latency, jitter and loss
/// on the way to a region show in SIP call setup and retransmissions.
/// </summary>
/// <param name="Enabled">On: every SIP message between the balancer and a region crosses the region's access link. Off
/// (the default): the balancer reaches the proxies directly, as before; the link server's CPU is the hot path's biggest
/// cost at high call rates, and each call adds about ten datagrams or segments to it.</param>
/// <param name="Latency">The round trip the access links carry (half each way), like an inter-region link's; 0 by default
/// (the link is then only a control point: shape it, blackhole it).</param>
public sealed record BalancerAccessLinks(bool Enabled, TimeSpan Latency)
{
    /// <summary>No access links: the balancer reaches the proxies directly.</summary>
    public static BalancerAccessLinks Off { get; } = new(false, TimeSpan.Zero);

    /// <summary>The latency added to each direction.</summary>
    public TimeSpan OneWayLatency => Latency / 2;
}

/// <summary>The global SIP balancer (HAProxy, or Kamailio's dispatcher over UDP) in front of the regions.</summary>
/// <param name="Address">Its loopback address (127.0.0.10), outside every region's block.</param>
/// <param name="SipPort">The port callers dial.</param>
/// <param name="Transport">TCP or UDP.</param>
/// <param name="Mode">Source hashing or weighted round robin.</param>
/// <param name="Redispatch">Re-send a call whose region failed before it was marked down.</param>
/// <param name="HealthCheck">Timings of the SIP OPTIONS checks; set by the profile.</param>
/// <param name="SessionAffinity">How long a caller sticks to its region.</param>
/// <param name="CircuitBreaker">Consecutive failures and successes that open and close a region.</param>
public sealed record BalancerDefinition(
    IPAddress Address,
    int SipPort,
    BalancerTransport Transport,
    BalancerMode Mode,
    bool Redispatch,
    HealthCheck HealthCheck,
    SessionAffinity SessionAffinity,
    CircuitBreaker CircuitBreaker)
{
    public IPEndPoint SipEndPoint => new(Address, SipPort);

    /// <summary>The access links to the regions' SIP proxies (<c>access_links</c>); off unless the file turns them on.</summary>
    public BalancerAccessLinks AccessLinks { get; init; } = BalancerAccessLinks.Off;

    internal TransportProtocol Protocol => Transport == BalancerTransport.Udp ? TransportProtocol.Udp : TransportProtocol.Tcp;
}
