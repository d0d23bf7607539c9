using System.Net;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Links;

/// <summary>
/// The global balancer's access links (<see cref="BalancerDefinition.AccessLinks"/>): the carrier/WAN leg from the
/// balancer to each region's SIP proxy, one link per region named <c>balancer-&lt;region&gt;-sip</c> — a UDP relay for the
/// dispatcher, a TCP proxy for HAProxy — carrying the environment's access latency, half each way.
/// </summary>
/// <remarks>
/// The balancer sends a region's SIP to <c>&lt;region's block&gt;.199</c> on the proxy's port (local: Lagos at
/// 127.0.1.199:5060), where the link listens; the link forwards to the proxy itself. Over UDP the proxy must send its
/// replies back to the link (the source of the request) rather than to the balancer's Via, and must record-route the
/// link's address towards the balancer, so that every message of a call and every health check crosses the link both
/// ways (<c>KamailioConfig.For</c>). Isolating a region leaves its access link alone: it is cut or
/// shaped by name.
/// </remarks>
public static class BalancerAccessLinkPlan
{
    /// <summary>The <see cref="InterRegionLink.From"/> of an access link, and its name's first part.</summary>
    public const string From = "balancer";

    /// <summary>The host number of the access link's listen address in a region's block.</summary>
    public const int EntryHost = 199;

    /// <summary>The access links of the environment, in its region order; empty when they are off.</summary>
    public static IReadOnlyList<InterRegionLink> For(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var access = environment.Balancer.AccessLinks;
        if (!access.Enabled)
        {
            return [];
        }

        var protocol = environment.Balancer.Protocol;
        return [.. environment.Regions.Select(region => new InterRegionLink(
            $"{From}-{region.Name}-{RegionService.Sip.LinkSuffix()}",
            From,
            region.Name,
            RegionService.Sip,
            EntryFor(environment, region),
            ProxyEndPoint(region, protocol),
            access.Latency,
            protocol))];
    }

    /// <summary>
    /// Where the balancer sends <paramref name="region"/>'s SIP: the access link's listen address with access links on,
    /// the proxy itself (its UDP or TCP endpoint, as the balancer's transport) without.
    /// </summary>
    public static IPEndPoint EntryFor(EnvironmentDefinition environment, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var proxy = ProxyEndPoint(region, environment.Balancer.Protocol);
        if (!environment.Balancer.AccessLinks.Enabled)
        {
            return proxy;
        }

        var block = region.AddressBlock.BaseAddress.GetAddressBytes();
        if (block.Length != 4 || region.AddressBlock.PrefixLength > 24)
        {
            throw new InvalidOperationException(
                $"Region {region.Name}'s block {region.AddressBlock} leaves no address for the balancer's access link: access links need an IPv4 block of /24 or larger.");
        }

        block[3] = EntryHost;
        var entry = new IPAddress(block);
        if (region.Bindings().Any(binding => binding.EndPoint.Address.Equals(entry)))
        {
            throw new InvalidOperationException(
                $"Region {region.Name} has a service on {entry}, where the balancer's access link to it listens: keep service addresses below .{InterRegionLinkPlan.FirstGatewayHost}.");
        }

        return new IPEndPoint(entry, proxy.Port);
    }

    private static IPEndPoint ProxyEndPoint(RegionDefinition region, TransportProtocol protocol) =>
        protocol == TransportProtocol.Udp ? region.Sip.UdpEndPoint : region.Sip.TcpEndPoint;
}
