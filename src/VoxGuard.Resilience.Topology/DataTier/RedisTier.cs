using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The stand-in for DragonflyDB: one Redis per region, the primary region's the master, the others replicating
/// from it through the inter-region links. Needs the environment's links and <see cref="LinkSwitchboard"/> running.
/// </summary>
/// <remarks>
/// Each Redis binds its region's address and sends from it (bind-source-addr: without it the replication
/// connection left from 127.0.0.1 and would have bypassed the links), so the
/// switchboard sends it through the right link; it announces its link-facing address, which is valid from
/// every region. Sentinels come next (they rely on the same two facts).
/// </remarks>
public sealed class RedisTier
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private readonly EnvironmentDefinition _environment;

    private RedisTier(EnvironmentDefinition environment, IReadOnlyDictionary<string, ManagedProcess> processes)
    {
        _environment = environment;
        Processes = processes;
    }

    /// <summary>The Redis process of each region, by region name.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes { get; }

    /// <summary>The spec of a region's Redis, for checking prerequisites before anything starts.</summary>
    public static ProcessSpec SpecFor(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-redis", "redis-server", "redis-server")
        {
            Arguments = [run.PathOf($"{region.Name}-redis.conf")],
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

        var tier = new RedisTier(environment, processes);
        await tier.WaitUntilReplicatedAsync($"voxguard:ready:{run.RunId}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
        return tier;
    }

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
