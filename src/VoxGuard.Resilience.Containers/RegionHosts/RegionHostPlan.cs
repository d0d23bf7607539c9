using System.Net;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Containers.RegionHosts;

/// <summary>
/// What one region's host is on a containers environment: a network of its own whose subnet is the region's block, the
/// addresses its servers bind inside the region's container, and the gateway addresses through which it reaches the
/// other regions (each one a listening address of the link server, on the host's side of the region's network).
/// </summary>
/// <param name="Region">The region's name (lagos).</param>
/// <param name="Block">The region's address block, the network's subnet (/24 or larger; its first address is the host's side).</param>
/// <param name="ServerAddresses">Every address a server of the region binds, all inside <paramref name="Block"/>; the first is the container's own.</param>
/// <param name="GatewayAddresses">The addresses the region reaches other regions at, inside <paramref name="Block"/>: they are given to the host's side of the network, where the link server listens.</param>
public sealed record RegionHostPlan(string Region, IPNetwork Block, IReadOnlyList<IPAddress> ServerAddresses, IReadOnlyList<IPAddress> GatewayAddresses)
{
    /// <summary>
    /// Addresses of this machine inside other regions' blocks that the region reaches through its host side (the link
    /// switchboard's link-facing addresses, one per region, valid from every region); the rest of those blocks stays
    /// unreachable. None by default.
    /// </summary>
    public IReadOnlyList<IPAddress> RoutedAddresses { get; init; } = [];

    /// <summary>The address the host's side of the region's network (the bridge) has: the block's first host address.</summary>
    public IPAddress HostSide => RegionDefinition.HostSideOf(Block);

    /// <summary>The problems with this plan, each on its own; empty when a host can be made from it.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Block.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || Block.PrefixLength > 24)
        {
            problems.Add($"region {Region}: block {Block} must be an IPv4 block of /24 or larger");
        }

        if (IPAddress.IsLoopback(Block.BaseAddress))
        {
            problems.Add($"region {Region}: block {Block} is loopback; a container's network needs a private block of its own (10.231.1.0/24)");
        }

        if (ServerAddresses.Count == 0)
        {
            problems.Add($"region {Region}: no server address");
        }

        foreach (var address in ServerAddresses.Concat(GatewayAddresses).Where(address => !Block.Contains(address)))
        {
            problems.Add($"region {Region}: {address} is outside its block {Block}");
        }

        foreach (var address in ServerAddresses.Concat(GatewayAddresses).Where(address => address.Equals(HostSide)))
        {
            problems.Add($"region {Region}: {address} is the host's side of the region's network; keep server and gateway addresses above it");
        }

        return problems;
    }
}
