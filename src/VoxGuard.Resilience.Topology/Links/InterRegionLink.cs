using System.Net;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Links;

/// <summary>
/// One directed inter-region link: connections opened in region <see cref="From"/> to a service of region
/// <see cref="To"/>. Clients in <see cref="From"/> dial <see cref="Listen"/> (an address in their own block), the link
/// server forwards to <see cref="Upstream"/>, the service itself. Its name is <c>&lt;from&gt;-&lt;to&gt;-&lt;service&gt;</c>.
/// </summary>
/// <param name="Name">e.g. <c>abuja-lagos-pg</c>: Abuja's connections to Lagos's PostgreSQL.</param>
/// <param name="From">The region whose clients open the connections.</param>
/// <param name="To">The region whose service they reach.</param>
/// <param name="Service">Which service of <paramref name="To"/>.</param>
/// <param name="Listen">Where clients in <paramref name="From"/> connect: the gateway address of <paramref name="To"/> in <paramref name="From"/>'s block, on the service's port.</param>
/// <param name="Upstream">The service's own endpoint in <paramref name="To"/>.</param>
/// <param name="RoundTripLatency">The environment's latency between the two regions, a round trip: half is added each way.</param>
/// <param name="Protocol">TCP (a proxy per connection) or UDP (a datagram relay: the balancer's access links to the
/// dispatcher's regions, <see cref="BalancerAccessLinkPlan"/>).</param>
public sealed record InterRegionLink(
    string Name,
    string From,
    string To,
    RegionService Service,
    IPEndPoint Listen,
    IPEndPoint Upstream,
    TimeSpan RoundTripLatency,
    TransportProtocol Protocol = TransportProtocol.Tcp)
{
    /// <summary>Whether this is the global balancer's access link to a region (not between two regions).</summary>
    public bool IsAccessLink => From == BalancerAccessLinkPlan.From;

    /// <summary>The latency added to each direction, so that a request and its answer pay the round trip once.</summary>
    public TimeSpan OneWayLatency => RoundTripLatency / 2;

    /// <summary>Whether this link carries traffic into or out of <paramref name="region"/>.</summary>
    public bool Touches(string region) => From == region || To == region;
}
