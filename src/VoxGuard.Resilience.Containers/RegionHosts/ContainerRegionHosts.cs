using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Containers.RegionHosts;

/// <summary>
/// The regions' hosts of an environment with <c>hosts: containers</c>, for <see cref="LocalTopology"/>: builds the
/// servers image when missing, finds or starts the engine (<see cref="ContainerEngine"/>), makes one container and one
/// internal network per region (<see cref="RegionHostContainers"/>) and places each region's servers in its container's
/// network namespace.
/// </summary>
/// <param name="repositoryRoot">The checkout, whose scripts/images.sh builds the images.</param>
public sealed class ContainerRegionHosts(string repositoryRoot) : IRegionHostProvider
{
    /// <summary>
    /// The hosts an environment needs: for <c>hosts: containers</c>, containers built from this checkout's images (the
    /// checkout found the way environments are, from the working directory up); null on loopback.
    /// </summary>
    public static IRegionHostProvider? ForEnvironment(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return environment.Hosts == RegionHosting.Containers
            ? new ContainerRegionHosts(Path.GetDirectoryName(EnvironmentLoader.FromRepository().EnvironmentsDirectory)!)
            : null;
    }

    /// <inheritdoc/>
    public async Task<IRegionHosts> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var images = await TopologyImages.EnsureBuiltAsync(repositoryRoot, serversOnly: true, cancellationToken).ConfigureAwait(false);
        var engine = await ContainerEngine.StartAsync(run, cancellationToken).ConfigureAwait(false);
        try
        {
            var hosts = await RegionHostContainers.StartAsync(engine, images.Servers, PlansFor(environment), cancellationToken).ConfigureAwait(false);
            foreach (var host in hosts.Hosts)
            {
                run.PlaceRegion(host.Plan.Region, host.NetworkNamespace);
            }

            return new Started(hosts, engine, run);
        }
        catch
        {
            await engine.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public string Describe(EnvironmentDefinition environment) =>
        $"{environment.Regions.Count} containers, each alone on an internal network ({string.Join(", ", environment.Regions.Select(region => $"{region.Name} {region.AddressBlock}"))})";

    /// <summary>
    /// Each region's host: its servers' addresses (the SIP proxy's first: the container's own), the gateway addresses
    /// through which it reaches every other region, its own link-facing address and the address the links into it
    /// connect from (all on this machine's side of its network), and the other regions' link-facing addresses routed
    /// through that side.
    /// </summary>
    public static IReadOnlyList<RegionHostPlan> PlansFor(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        IPAddress LinkFacing(RegionDefinition region) => LinkSwitchboard.LinkFacingEndPoint(region, RegionService.Redis).Address;
        return
        [
            .. environment.Regions.Select(region => new RegionHostPlan(
                region.Name,
                region.AddressBlock,
                [.. new[] { region.Sip.Address }.Concat(region.Bindings().Select(binding => binding.EndPoint.Address)).Distinct()],
                [
                    .. environment.Regions.Where(other => other.Name != region.Name)
                        .Select(other => InterRegionLinkPlan.GatewayAddress(environment, region, other)),
                    LinkFacing(region),
                    InterRegionLinkPlan.LinkSourceAddress(region),
                    // The balancer's access link to the region listens on this machine's side too, when there is one.
                    .. environment.Balancer.AccessLinks.Enabled ? [BalancerAccessLinkPlan.EntryFor(environment, region).Address] : Array.Empty<IPAddress>(),
                ])
            {
                RoutedAddresses = [.. environment.Regions.Where(other => other.Name != region.Name).Select(LinkFacing)],
            }),
        ];
    }

    /// <summary>
    /// What a started set of hosts is: a region's loss kills its container, its rejoin starts it again and places the
    /// region's servers in its new network namespace; removing it removes the containers, the networks and the engine's
    /// service.
    /// </summary>
    private sealed class Started(RegionHostContainers hosts, ContainerEngine engine, RunDirectory run) : IRegionHosts
    {
        public Task LoseAsync(string region, CancellationToken cancellationToken) => hosts.Host(region).LoseAsync(cancellationToken);

        public async Task<bool> RestoreAsync(string region, CancellationToken cancellationToken)
        {
            var host = hosts.Host(region);
            if (!await host.RestoreAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            run.PlaceRegion(region, host.NetworkNamespace);
            return true;
        }

        public Task AddAddressAsync(string region, System.Net.IPAddress address, CancellationToken cancellationToken) =>
            hosts.Host(region).AddAddressAsync(address, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            try
            {
                await hosts.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
