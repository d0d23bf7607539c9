using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Containers.RegionHosts;

/// <summary>
/// Every region of a containers environment as a host of its own: a container (the servers image, holding nothing but
/// the region's network stack) alone on an internal network whose subnet is the region's block. The region's servers
/// run in that container's network namespace (<see cref="NetworkNamespaceOf"/>, given to
/// <c>ProcessSpec.NetworkNamespace</c>), so they bind the region's addresses and reach only their own region; the
/// host's side of each network carries the region's gateway addresses, where the link server listens — the only way
/// from one region to another. The harness, on the host, reaches every region directly.
/// </summary>
/// <remarks>
/// The servers are the harness's own children (nsenter execs, so the PID is the server's): killing, crashing and
/// pausing a server, and every readiness wait, work as in <c>local</c>. Networks are internal: no route leaves a region
/// (its container has no default route), and no packet reaches any address outside the project's own networks.
/// </remarks>
public sealed class RegionHostContainers : IAsyncDisposable
{
    private const string NetworkNamespaceDirectory = "/run/netns";
    private readonly ContainerEngine _engine;
    private readonly List<RegionHost> _hosts = [];

    private RegionHostContainers(ContainerEngine engine) => _engine = engine;

    /// <summary>The regions' hosts, in the plans' order.</summary>
    public IReadOnlyList<RegionHost> Hosts => _hosts;

    /// <summary>
    /// Makes every region's network and container, gives the container its servers' addresses and the host's side its
    /// gateway addresses. Checks every plan first (nothing is made when one is wrong, or when a block overlaps a route
    /// of this machine); when a step fails, removes what was made.
    /// </summary>
    public static async Task<RegionHostContainers> StartAsync(
        ContainerEngine engine, string image, IReadOnlyList<RegionHostPlan> plans, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentException.ThrowIfNullOrEmpty(image);
        ArgumentNullException.ThrowIfNull(plans);
        var problems = plans.SelectMany(plan => plan.Problems()).ToList();
        problems.AddRange(await OverlapsWithThisMachineAsync(plans, cancellationToken).ConfigureAwait(false));
        if (problems.Count > 0)
        {
            throw new ContainerEngineException($"Cannot make the regions' hosts: {string.Join("; ", problems)}.");
        }

        var hosts = new RegionHostContainers(engine);
        try
        {
            foreach (var plan in plans)
            {
                hosts._hosts.Add(await RegionHost.StartAsync(engine, image, plan, cancellationToken).ConfigureAwait(false));
            }

            return hosts;
        }
        catch
        {
            await hosts.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The network namespace the servers of <paramref name="region"/> run in (a path under /run/netns).</summary>
    public string NetworkNamespaceOf(string region) => Host(region).NetworkNamespace;

    /// <summary>The region's host by name; throws naming the regions there are.</summary>
    public RegionHost Host(string region) =>
        _hosts.FirstOrDefault(host => host.Plan.Region == region)
        ?? throw new ArgumentException($"No region host '{region}': there are {string.Join(", ", _hosts.Select(host => host.Plan.Region))}.", nameof(region));

    /// <summary>
    /// Removes every host: containers, then networks (with them the gateway addresses). Each step runs even when one
    /// before it failed; servers still running in a region's network namespace keep it alive until they exit, so stop
    /// them first.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }

        _hosts.Clear();
    }

    /// <summary>Runs iproute2's ip (inside <paramref name="networkNamespace"/> when given); throws with what it said when it fails.</summary>
    internal static async Task<string> IpAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? networkNamespace = null)
    {
        // nsenter execs ip inside the region's network namespace.
        var start = networkNamespace is null ? new ProcessStartInfo("ip") : new ProcessStartInfo("nsenter", ["--net=" + networkNamespace, "--", "ip"]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var ip = Process.Start(start)!;
        var output = ip.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = await ip.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await ip.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (ip.ExitCode != 0)
        {
            throw new ContainerEngineException($"ip {string.Join(' ', arguments)} failed: {error.Trim()}");
        }

        return await output.ConfigureAwait(false);
    }

    /// <summary>A block that overlaps a route of this machine would hide (or be hidden by) a network it already has.</summary>
    private static async Task<IReadOnlyList<string>> OverlapsWithThisMachineAsync(IReadOnlyList<RegionHostPlan> plans, CancellationToken cancellationToken)
    {
        using var routes = JsonDocument.Parse(await IpAsync(["-j", "-4", "route", "show", "table", "all"], cancellationToken).ConfigureAwait(false));
        var problems = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal); // one problem per region, not one per route
        foreach (var route in routes.RootElement.EnumerateArray())
        {
            var destination = route.GetProperty("dst").GetString();
            if (destination is null || destination == "default" || !TryParseNetwork(destination, out var routed) || IPAddress.IsLoopback(routed.BaseAddress)
                || route.TryGetProperty("type", out var type) && type.GetString() is "broadcast")
            {
                continue;
            }

            foreach (var plan in plans.Where(plan => Overlap(plan.Block, routed) && reported.Add(plan.Region)))
            {
                var device = route.TryGetProperty("dev", out var dev) ? dev.GetString() : "?";
                problems.Add($"region {plan.Region}'s block {plan.Block} overlaps this machine's route to {destination} (dev {device}: another network already uses it, perhaps another topology's); give the region another private block");
            }
        }

        return problems;
    }

    private static bool TryParseNetwork(string text, out IPNetwork network) =>
        IPNetwork.TryParse(text.Contains('/', StringComparison.Ordinal) ? text : text + "/32", out network);

    private static bool Overlap(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);
}

/// <summary>One region's host: its network, its container, and the container's network namespace its servers enter.</summary>
public sealed class RegionHost : IAsyncDisposable
{
    /// <summary>What the names of a region's network and container start with: voxguard-&lt;run&gt;-&lt;region&gt;.</summary>
    internal const string NamePrefix = "voxguard-";

    /// <summary>The metric of the blackhole route a lost region's block gets on this machine (below the bridge's route).</summary>
    internal const string LostRegionMetric = "4242";

    private readonly ContainerEngine _engine;
    private INetwork? _network;
    private IContainer? _container;
    private IDisposable? _declaredOwn;

    private RegionHost(ContainerEngine engine, RegionHostPlan plan)
    {
        _engine = engine;
        Plan = plan;
        Name = $"{NamePrefix}{engine.RunId}-{plan.Region}";
    }

    /// <summary>What the host was made from.</summary>
    public RegionHostPlan Plan { get; }

    /// <summary>The name of its network and of its container.</summary>
    public string Name { get; }

    /// <summary>The container's network namespace: the path servers give <c>nsenter --net=</c>.</summary>
    public string NetworkNamespace { get; private set; } = string.Empty;

    /// <summary>The host's side of the region's network (a bridge of this machine), which carries the gateway addresses.</summary>
    public string HostInterface { get; private set; } = string.Empty;

    /// <summary>The container's id.</summary>
    public string ContainerId => _container?.Id ?? string.Empty;

    internal static async Task<RegionHost> StartAsync(ContainerEngine engine, string image, RegionHostPlan plan, CancellationToken cancellationToken)
    {
        var host = new RegionHost(engine, plan);
        try
        {
            await host.MakeAsync(image, cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Removes the container, then the network (with it the gateway addresses), through the engine's CLI: this works
    /// after the run's API service stopped with its run directory, which is when a topology removes its hosts (every
    /// server of the region killed first: a namespace lives on while a process is in it).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _declaredOwn?.Dispose();
        _declaredOwn = null;
        if (_network is not null || _container is not null)
        {
            _container = null;
            _network = null;
            try
            {
                await ContainerEngine.RemoveAsync(Name, Name).ConfigureAwait(false);
            }
            finally
            {
                await RemoveBlackholeAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task MakeAsync(string image, CancellationToken cancellationToken)
    {
        _network = new NetworkBuilder()
            .WithDockerEndpoint(_engine.Endpoint)
            .WithName(Name)
            .WithLabel(ContainerEngine.RunLabel, _engine.RunId)
            .WithCreateParameterModifier(parameters =>
            {
                // Internal: no route out of the region, and no NAT to anywhere.
                parameters.Internal = true;
                parameters.IPAM = new IPAM { Config = [new IPAMConfig { Subnet = Plan.Block.ToString(), Gateway = Plan.HostSide.ToString() }] };
            })
            .Build();
        await _network.CreateAsync(cancellationToken).ConfigureAwait(false);
        // The harness made it: the network rule admits it (and its engines inherit that) until it is removed.
        _declaredOwn = NetworkRule.DeclareOwn(Plan.Block);

        var ownAddress = Plan.ServerAddresses[0].ToString();
        _container = new ContainerBuilder(image)
            .WithDockerEndpoint(_engine.Endpoint)
            .WithImagePullPolicy(_ => false)
            .WithName(Name)
            .WithLabel(ContainerEngine.RunLabel, _engine.RunId)
            .WithNetwork(_network)
            .WithCreateParameterModifier(parameters =>
            {
                foreach (var endpoint in parameters.NetworkingConfig?.EndpointsConfig?.Values ?? [])
                {
                    endpoint.IPAMConfig = new EndpointIPAMConfig { IPv4Address = ownAddress };
                }
            })
            // The container only holds the region's network stack; its servers are the harness's children.
            .WithCommand("sleep", "infinity")
            .Build();
        await _container.StartAsync(cancellationToken).ConfigureAwait(false);
        await ConfigureAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Kills the container (SIGKILL, no grace) and returns once the engine reports it stopped: its network namespace
    /// is torn down with the region's addresses, and the engine removes the host's side of the network with its
    /// gateway addresses when no other container is on it (netavark does). The network itself stays, so that
    /// <see cref="RestoreAsync"/> can start the container again on it. Idempotent.
    /// </summary>
    public async Task LoseAsync(CancellationToken cancellationToken = default)
    {
        // With the bridge gone, this machine has no route to the block but its default one: packets to the lost
        // region's addresses (the balancer's checks, the links' dials) would leave the machine. Drop them here instead:
        // a route below the bridge's (metric 0), in place before the bridge goes, so there is no moment without it.
        await RegionHostContainers.IpAsync(["route", "replace", "blackhole", Plan.Block.ToString(), "metric", LostRegionMetric], cancellationToken).ConfigureAwait(false);
        await ContainerEngine.CheckedCliAsync(["stop", "--time", "0", Name], $"kill region {Plan.Region}'s host", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a lost container again (the engine gives it the same address) and gives it back what the engine does not:
    /// the other server addresses, the routes to the other regions' link-facing addresses and the gateway addresses on
    /// the host's side; <see cref="NetworkNamespace"/> is then the new namespace. A running container is left as it is.
    /// Returns whether it was started again.
    /// </summary>
    public async Task<bool> RestoreAsync(CancellationToken cancellationToken = default)
    {
        var (_, state) = await ContainerEngine.CliAsync(["inspect", "--format", "{{.State.Running}}", Name], cancellationToken).ConfigureAwait(false);
        if (state.Trim() == "true")
        {
            return false;
        }

        await ContainerEngine.CheckedCliAsync(["start", Name], $"bring region {Plan.Region}'s host back", cancellationToken).ConfigureAwait(false);
        await RemoveBlackholeAsync(cancellationToken).ConfigureAwait(false);
        await ConfigureAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// One more address of the block on the container's interface (a restored copy's): a server placed in the namespace
    /// binds it, and this machine reaches it over the bridge. Lost with the container, as the copy's servers are.
    /// </summary>
    public async Task AddAddressAsync(IPAddress address, CancellationToken cancellationToken = default)
    {
        if (!Plan.Block.Contains(address))
        {
            throw new ArgumentException($"{address} is not in region {Plan.Region}'s block {Plan.Block}.", nameof(address));
        }

        var device = await ContainerInterfaceAsync(cancellationToken).ConfigureAwait(false);
        var prefix = Plan.Block.PrefixLength.ToString(CultureInfo.InvariantCulture);
        await RegionHostContainers.IpAsync(["addr", "replace", $"{address}/{prefix}", "dev", device], cancellationToken, NetworkNamespace).ConfigureAwait(false);
    }

    /// <summary>Removes the route <see cref="LoseAsync"/> left for the block, if there is one.</summary>
    private async Task RemoveBlackholeAsync(CancellationToken cancellationToken)
    {
        var routes = await RegionHostContainers.IpAsync(["route", "show", "type", "blackhole", Plan.Block.ToString()], cancellationToken).ConfigureAwait(false);
        if (routes.Trim().Length > 0)
        {
            await RegionHostContainers.IpAsync(["route", "del", "blackhole", Plan.Block.ToString(), "metric", LostRegionMetric], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives a started container its network as the plan says: finds its namespace, adds the other server addresses and
    /// the routes inside, and the gateway addresses on the host's side (replace: a bridge that kept them is fine).
    /// </summary>
    private async Task ConfigureAsync(CancellationToken cancellationToken)
    {
        var prefix = Plan.Block.PrefixLength.ToString(CultureInfo.InvariantCulture);
        NetworkNamespace = await _engine.NetworkNamespaceOfAsync(ContainerId, cancellationToken).ConfigureAwait(false);

        var device = await ContainerInterfaceAsync(cancellationToken).ConfigureAwait(false);
        foreach (var address in Plan.ServerAddresses.Skip(1))
        {
            await RegionHostContainers.IpAsync(["addr", "add", $"{address}/{prefix}", "dev", device], cancellationToken, NetworkNamespace).ConfigureAwait(false);
        }

        HostInterface = await HostInterfaceAsync(cancellationToken).ConfigureAwait(false);
        foreach (var gateway in Plan.GatewayAddresses)
        {
            await RegionHostContainers.IpAsync(["addr", "replace", $"{gateway}/{prefix}", "dev", HostInterface], cancellationToken).ConfigureAwait(false);
        }

        // Addresses of this machine on other regions' networks (their link-facing addresses): reached through the
        // host's side of this region's network, where this machine delivers them to itself; the rest of those
        // networks stays unreachable.
        foreach (var routed in Plan.RoutedAddresses)
        {
            await RegionHostContainers.IpAsync(["route", "add", $"{routed}/32", "via", Plan.HostSide.ToString()], cancellationToken, NetworkNamespace).ConfigureAwait(false);
        }
    }

    /// <summary>The container's interface on the region's network: the one holding its own address.</summary>
    private async Task<string> ContainerInterfaceAsync(CancellationToken cancellationToken)
    {
        var own = Plan.ServerAddresses[0].ToString();
        return await InterfaceHoldingAsync(NetworkNamespace, own, $"the container of {Plan.Region}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>This machine's side of the region's network: the bridge holding the block's first address.</summary>
    private Task<string> HostInterfaceAsync(CancellationToken cancellationToken) =>
        InterfaceHoldingAsync(null, Plan.HostSide.ToString(), $"this machine (the bridge of network {Name})", cancellationToken);

    private static async Task<string> InterfaceHoldingAsync(string? networkNamespace, string address, string what, CancellationToken cancellationToken)
    {
        using var addresses = JsonDocument.Parse(await RegionHostContainers.IpAsync(["-j", "-4", "addr", "show"], cancellationToken, networkNamespace).ConfigureAwait(false));
        foreach (var link in addresses.RootElement.EnumerateArray())
        {
            if (link.GetProperty("addr_info").EnumerateArray().Any(info => info.GetProperty("local").GetString() == address))
            {
                return link.GetProperty("ifname").GetString()!;
            }
        }

        throw new ContainerEngineException($"No interface of {what} holds {address}: the engine did not give the network the subnet and gateway asked for.");
    }
}
