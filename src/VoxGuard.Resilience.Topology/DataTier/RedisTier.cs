using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The stand-in for DragonflyDB: one Redis per region, the primary region's the master, the others replicating
/// from it through the inter-region links, and one Sentinel per region (quorum 2) that fails over when the master
/// is lost. Needs the environment's links and <see cref="LinkSwitchboard"/> running.
/// </summary>
/// <remarks>
/// Each Redis binds its region's address and sends from it (bind-source-addr: without it the replication
/// connection left from 127.0.0.1 and would have bypassed the links), so the
/// switchboard sends it through the right link; it announces its link-facing address, which is valid from
/// every region. Sentinels rely on the same two facts: they announce their link-facing address and send from their
/// region's. They are pre-seeded (fixed ids, known replicas and sentinels), so they agree at once instead of taking
/// 2–10 s to discover each other.
/// </remarks>
public sealed class RedisTier
{
    /// <summary>The name the Sentinels monitor the master under.</summary>
    public const string MasterName = "voxguard";

    /// <summary>How long a silent master stays up in the Sentinels' eyes (PROBES: failover in ~2.8 s with 1000 ms).</summary>
    public static readonly TimeSpan DownAfter = TimeSpan.FromMilliseconds(1000);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private readonly EnvironmentDefinition _environment;

    private RedisTier(EnvironmentDefinition environment, IReadOnlyDictionary<string, ManagedProcess> processes, IReadOnlyDictionary<string, ManagedProcess> sentinels)
    {
        _environment = environment;
        Processes = processes;
        Sentinels = sentinels;
    }

    /// <summary>The Redis process of each region, by region name.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes { get; }

    /// <summary>The Sentinel process of each region, by region name.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Sentinels { get; }

    /// <summary>The spec of a region's Redis, for checking prerequisites before anything starts.</summary>
    public static ProcessSpec SpecFor(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-redis", "redis-server", "redis-server")
        {
            Arguments = [run.PathOf($"{region.Name}-redis.conf")],
        };

    /// <summary>The spec of a region's Sentinel (redis-server in sentinel mode; its config file must be writable).</summary>
    public static ProcessSpec SentinelSpecFor(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-sentinel", "redis-server", "redis-server")
        {
            Arguments = [run.PathOf($"{region.Name}-sentinel.conf"), "--sentinel"],
        };

    /// <summary>
    /// Starts every region's Redis and returns when a marker written on the primary is readable on every replica
    /// (replication verified end to end, through the links).
    /// </summary>
    public static async Task<RedisTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ProcessSpec.EnsureInstalled(environment.Regions.Select(region => SpecFor(run, region)));
        var processes = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            Directory.CreateDirectory(run.PathOf($"{region.Name}-redis"));
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-redis.conf"), ConfigFor(environment, run, region), cancellationToken).ConfigureAwait(false);
            var process = await run.StartProcessAsync(SpecFor(run, region), cancellationToken).ConfigureAwait(false);
            processes[region.Name] = process;
            await process.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Redis.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        }

        var sentinels = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            Directory.CreateDirectory(run.PathOf($"{region.Name}-sentinel"));
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-sentinel.conf"), SentinelConfigFor(environment, run, region), cancellationToken).ConfigureAwait(false);
            var sentinel = await run.StartProcessAsync(SentinelSpecFor(run, region), cancellationToken).ConfigureAwait(false);
            sentinels[region.Name] = sentinel;
            await sentinel.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Sentinel.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        }

        var tier = new RedisTier(environment, processes, sentinels);
        await tier.WaitUntilReplicatedAsync($"voxguard:ready:{run.RunId}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
        await tier.WaitUntilSentinelsAgreeAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false);
        return tier;
    }

    /// <summary>The Sentinel configuration of one region: pre-seeded with every replica and every other Sentinel.</summary>
    public static string SentinelConfigFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        var master = LinkSwitchboard.LinkFacingEndPoint(environment.Primary, RegionService.Redis);
        var announced = LinkSwitchboard.LinkFacingEndPoint(region, RegionService.Sentinel);
        var lines = new List<string>
        {
            $"bind {region.Sentinel.Address}",
            $"bind-source-addr {region.Sentinel.Address}",
            $"port {region.Sentinel.Port}",
            "protected-mode no",
            "daemonize no",
            $"dir {run.PathOf($"{region.Name}-sentinel")}",
            $"sentinel myid {SentinelId(environment, region)}",
            $"sentinel announce-ip {announced.Address}",
            $"sentinel announce-port {announced.Port}",
            $"sentinel monitor {MasterName} {master.Address} {master.Port} 2",
            $"sentinel down-after-milliseconds {MasterName} {(int)DownAfter.TotalMilliseconds}",
            $"sentinel failover-timeout {MasterName} 10000",
            $"sentinel parallel-syncs {MasterName} 1",
        };
        foreach (var replica in environment.Replicas)
        {
            var address = LinkSwitchboard.LinkFacingEndPoint(replica, RegionService.Redis);
            lines.Add($"sentinel known-replica {MasterName} {address.Address} {address.Port}");
        }

        foreach (var other in environment.Regions.Where(other => other.Name != region.Name))
        {
            var address = LinkSwitchboard.LinkFacingEndPoint(other, RegionService.Sentinel);
            lines.Add($"sentinel known-sentinel {MasterName} {address.Address} {address.Port} {SentinelId(environment, other)}");
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>A fixed 40-hex Sentinel id per region, so pre-seeded peers are recognised.</summary>
    public static string SentinelId(EnvironmentDefinition environment, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var index = environment.Regions.ToList().FindIndex(candidate => candidate.Name == region.Name);
        return (index + 1).ToString("x", CultureInfo.InvariantCulture).PadLeft(40, 'a');
    }

    /// <summary>Where the Sentinel of <paramref name="region"/> says the master is (a link-facing address).</summary>
    public async Task<IPEndPoint> MasterAccordingToAsync(string region, CancellationToken cancellationToken = default)
    {
        var reply = (object?[])(await RespClient.CommandAsync(_environment.Region(region).Sentinel.EndPoint, cancellationToken,
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).ConfigureAwait(false))!;
        return new IPEndPoint(IPAddress.Parse((string)reply[0]!), int.Parse((string)reply[1]!, CultureInfo.InvariantCulture));
    }

    /// <summary>The region whose link-facing Redis address is <paramref name="endpoint"/>.</summary>
    public RegionDefinition RegionAt(IPEndPoint endpoint) =>
        _environment.Regions.Single(region => LinkSwitchboard.LinkFacingEndPoint(region, RegionService.Redis).Equals(endpoint));

    /// <summary>
    /// Waits until every Sentinel could fail over now: it sees the master, has fresh INFO from every replica (a
    /// replica it has not polled yet is no candidate: a failover right after start would abort with no good replica
    /// and retry only after twice the failover timeout) and hears from every other Sentinel.
    /// </summary>
    public async Task WaitUntilSentinelsAgreeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        foreach (var region in _environment.Regions)
        {
            var endpoint = region.Sentinel.EndPoint;
            var others = _environment.Regions.Count - 1;
            var replicas = _environment.Replicas.Count;
            await WaitStrategy.UntilAsync(
                async cancel =>
                {
                    var master = Fields((object?[])(await RespClient.CommandAsync(endpoint, cancel, "SENTINEL", "MASTER", MasterName).ConfigureAwait(false))!);
                    var knownReplicas = await ListAsync(endpoint, "REPLICAS", cancel).ConfigureAwait(false);
                    var knownSentinels = await ListAsync(endpoint, "SENTINELS", cancel).ConfigureAwait(false);
                    return master["flags"] == "master"
                        && knownReplicas.Count == replicas
                        && knownReplicas.All(replica => replica["flags"] == "slave" && replica.GetValueOrDefault("master-link-status") == "ok"
                            && long.TryParse(replica.GetValueOrDefault("info-refresh"), CultureInfo.InvariantCulture, out var refreshed) && refreshed < 10_000)
                        && knownSentinels.Count == others
                        && knownSentinels.All(sentinel => sentinel["flags"] == "sentinel"
                            && long.TryParse(sentinel.GetValueOrDefault("last-ok-ping-reply"), CultureInfo.InvariantCulture, out var ping) && ping < 2_000);
                },
                timeout,
                TimeSpan.FromMilliseconds(50),
                $"{region.Name}'s Sentinel ({endpoint}) to have fresh INFO from {replicas} replicas and replies from {others} other Sentinels",
                Sentinels[region.Name],
                cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<List<Dictionary<string, string?>>> ListAsync(IPEndPoint sentinel, string what, CancellationToken cancellationToken)
    {
        var reply = (object?[])(await RespClient.CommandAsync(sentinel, cancellationToken, "SENTINEL", what, MasterName).ConfigureAwait(false))!;
        return [.. reply.Cast<object?[]>().Select(Fields)];
    }

    private static Dictionary<string, string?> Fields(object?[] pairs) =>
        Enumerable.Range(0, pairs.Length / 2).ToDictionary(i => (string)pairs[2 * i]!, i => pairs[(2 * i) + 1] as string, StringComparer.Ordinal);

    /// <summary>The Redis configuration of one region: its own address, its link-facing announcement, its master.</summary>
    public static string ConfigFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        var announced = LinkSwitchboard.LinkFacingEndPoint(region, RegionService.Redis);
        var lines = new List<string>
        {
            $"bind {region.Redis.Address}",
            // Outgoing connections (replication) must leave from the region's block: the switchboard routes by it.
            $"bind-source-addr {region.Redis.Address}",
            $"port {region.Redis.Port}",
            "protected-mode no",
            "daemonize no",
            $"dir {run.PathOf($"{region.Name}-redis")}",
            "save \"\"",
            "appendonly no",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
            $"replica-announce-ip {announced.Address}",
            $"replica-announce-port {announced.Port}",
        };
        if (!region.IsPrimary)
        {
            var master = LinkSwitchboard.LinkFacingEndPoint(environment.Primary, RegionService.Redis);
            lines.Add($"replicaof {master.Address} {master.Port}");
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The endpoint of a region's Redis, for clients inside that region.</summary>
    public IPEndPoint EndPointOf(string region) => _environment.Region(region).Redis.EndPoint;

    /// <summary>
    /// Writes <paramref name="key"/> (with a fresh value) on the primary and waits until every replica reads it;
    /// returns how long that took.
    /// </summary>
    public async Task<TimeSpan> WaitUntilReplicatedAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var value = Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);
        var started = Stopwatch.GetTimestamp();
        await RespClient.CommandAsync(EndPointOf(_environment.Primary.Name), cancellationToken, "SET", key, value).ConfigureAwait(false);
        foreach (var replica in _environment.Replicas)
        {
            var endpoint = replica.Redis.EndPoint;
            await WaitStrategy.UntilAsync(
                async cancel => (string?)await RespClient.CommandAsync(endpoint, cancel, "GET", key).ConfigureAwait(false) == value,
                timeout,
                TimeSpan.FromMilliseconds(10),
                $"{key} written on {_environment.Primary.Name} to be readable on {replica.Name}'s Redis ({endpoint})",
                Processes[replica.Name],
                cancellationToken).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }
}
