using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// Patroni's distributed configuration store: one etcd 3.4 member per region, every member-to-member and
/// Patroni-to-member byte crossing the inter-region links (names from <see cref="RegionHosts"/>). Two of three members
/// make a quorum, so a region cut off by its links loses its vote and its Patroni cannot keep the leader key.
/// </summary>
/// <remarks>
/// <c>--pre-vote</c>: without it a healed minority member forces a disruptive election (2.2 s without writes vs
/// 0.35 s, measured with etcd 3.4 on loopback: docs/measured-facts.md, "etcd pre-vote"). A restarted member keeps its
/// data directory and rejoins with it.
/// </remarks>
public sealed class EtcdCluster : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(1) };
    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly Dictionary<string, ManagedProcess> _members;

    private EtcdCluster(EnvironmentDefinition environment, RunDirectory run, Dictionary<string, ManagedProcess> members)
    {
        _environment = environment;
        _run = run;
        _members = members;
    }

    /// <summary>The etcd member of each region (the latest one after a restart).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Members => _members;

    /// <summary>Every program the cluster runs, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return [.. environment.Regions.Select(region => MemberSpec(environment, run, region))];
    }

    /// <summary>Starts every member and returns when each reports itself healthy (it has a leader and a quorum).</summary>
    public static async Task<EtcdCluster> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var members = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        var cluster = new EtcdCluster(environment, run, members);
        try
        {
            foreach (var region in environment.Regions)
            {
                members[region.Name] = await run.StartProcessAsync(MemberSpec(environment, run, region), cancellationToken).ConfigureAwait(false);
            }

            // A member is healthy only once a quorum elected a leader: all of them start first, then each is awaited.
            foreach (var region in environment.Regions)
            {
                await members[region.Name].WaitUntilReadyAsync(UntilHealthy(region).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a region's member again (after a loss) from its data directory; returns once it is healthy.</summary>
    public async Task<TopologyOperation> RestartMemberAsync(string region, CancellationToken cancellationToken = default)
    {
        var member = _environment.Region(region);
        var started = Stopwatch.GetTimestamp();
        await _members[member.Name].KillAsync(cancellationToken).ConfigureAwait(false);
        _members[member.Name] = await _run.StartProcessAsync(MemberSpec(_environment, _run, member), cancellationToken).ConfigureAwait(false);
        await _members[member.Name].WaitUntilReadyAsync(UntilHealthy(member).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        return TopologyOperation.Since($"restart {member.Name}'s etcd member", started);
    }

    /// <summary>Whether a region's member says it is healthy: running, with a leader and a quorum behind it.</summary>
    public async Task<bool> IsHealthyAsync(string region, CancellationToken cancellationToken = default)
    {
        var member = _environment.Region(region);
        return !_members[member.Name].HasExited && !_members[member.Name].IsPaused && await IsHealthyAsync(member, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Each member's health, by region: healthy, no quorum, paused or down.</summary>
    public async Task<IReadOnlyDictionary<string, string>> HealthAsync(CancellationToken cancellationToken = default)
    {
        var health = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var region in _environment.Regions)
        {
            var member = _members[region.Name];
            health[region.Name] = member.HasExited ? "down"
                : member.IsPaused ? "paused"
                : await IsHealthyAsync(region, cancellationToken).ConfigureAwait(false) ? "healthy" : "no quorum";
        }

        return health;
    }

    /// <summary>Kills every member.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_members.Values.Select(member => member.KillAsync())).ConfigureAwait(false);
    }

    private static async Task<bool> IsHealthyAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        try
        {
            var health = await Http.GetFromJsonAsync<EtcdHealth>(new Uri($"http://{region.Etcd.EndPoint}/health"), cancellationToken).ConfigureAwait(false);
            return health?.Health == "true";
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static WaitStrategy UntilHealthy(RegionDefinition region) =>
        WaitStrategy.Until($"{region.Name}'s etcd member ({region.Etcd.EndPoint}) to report a leader and a quorum", cancel => IsHealthyAsync(region, cancel))
            .WithInterval(TimeSpan.FromMilliseconds(50));

    /// <summary>
    /// The etcd command line of <paramref name="region"/>'s member (after the program name): listening on its own
    /// endpoints, advertising <see cref="RegionHosts"/> names, so every other member and Patroni dial it through the links.
    /// </summary>
    public static IReadOnlyList<string> MemberArguments(EnvironmentDefinition environment, RegionDefinition region, string dataDirectory, string clusterToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        string PeerUrl(RegionDefinition each) => $"http://{RegionHosts.Etcd(each.Name)}:{each.EtcdPeer.Port}";
        return
        [
            "--name", region.Name,
            "--data-dir", dataDirectory,
            "--listen-client-urls", $"http://{region.Etcd.EndPoint}",
            "--advertise-client-urls", $"http://{RegionHosts.Etcd(region.Name)}:{region.Etcd.Port}",
            "--listen-peer-urls", $"http://{region.EtcdPeer.EndPoint}",
            "--initial-advertise-peer-urls", PeerUrl(region),
            "--initial-cluster", string.Join(',', environment.Regions.Select(each => $"{each.Name}={PeerUrl(each)}")),
            "--initial-cluster-state", "new",
            "--initial-cluster-token", clusterToken,
            "--pre-vote",
            "--enable-v2=true", // Patroni's etcd (v2) client: see PatroniConfig
            "--logger", "zap",
            // info, not warn: raft's elections ("became leader", "lost leader") are info lines, and they are the quorum's
            // part of a failover's story (ServerLogEvents). About 70 lines at start, ~6 a second while cut off, none idle.
            "--log-level", "info",
        ];
    }

    private static ProcessSpec MemberSpec(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-etcd", "etcd", "etcd-server")
        {
            Arguments = [.. MemberArguments(environment, region, run.PathOf($"{region.Name}-etcd"), $"voxguard-{run.RunId}")],
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            HostsFile = RegionHosts.PathOf(run, region),
            Environment = new Dictionary<string, string?> { ["ETCD_UNSUPPORTED_ARCH"] = null },
        };

    private sealed record EtcdHealth([property: JsonPropertyName("health")] string? Health);
}
