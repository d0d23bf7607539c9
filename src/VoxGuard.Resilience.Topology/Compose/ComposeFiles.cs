using System.Globalization;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Compose;

/// <summary>
/// Every configuration file the services of <c>docker-compose.chaos.yml</c> read, rendered from an environment by the
/// harness's own generators (<see cref="HaproxyConfig"/>, <see cref="KamailioConfig"/>, <see cref="PatroniConfig"/>,
/// the Sentinel settings of <see cref="RedisTier"/>), so the compose file holds no second copy of them. (The engines read
/// the environment file itself: <c>voxguard-engine --hosting compose</c>.) The compose
/// file's <c>config</c> service writes them into the shared <c>/config</c> volume before anything else starts.
/// </summary>
public static class ComposeFiles
{
    /// <summary>Where the services find the files (the compose file's <c>config</c> volume).</summary>
    public const string ConfigDirectory = "/config";

    /// <summary>The health check of a SIP proxy or of the balancer: <c>bash sip-options-check.sh ADDRESS PORT</c>, exit 0 on 200 OK.</summary>
    public const string SipOptionsCheck = "sip-options-check.sh";

    /// <summary>Patroni's post_bootstrap script: the tables the engines write (<see cref="PostgresTier.Schema"/>).</summary>
    public const string PostBootstrap = "post-bootstrap.sh";

    /// <summary>Written last: the files are complete.</summary>
    public const string ReadyMarker = "rendered";

    /// <summary>A node's PGDATA in its container (the postgres user's, under its home).</summary>
    public const string PostgresDataDirectory = "/var/lib/postgresql/voxguard";

    /// <summary>How long a Sentinel waits for the master to answer before it starts anyway (<see cref="SentinelScript"/>).</summary>
    public static readonly TimeSpan SentinelWaitsForMaster = TimeSpan.FromSeconds(60);

    private const string GeneratedFor = "docker-compose.chaos.yml";

    /// <summary>
    /// Writes every file for <paramref name="environment"/> (a loaded, validated environment such as local; moved into
    /// containers by <see cref="ComposeTopology.For"/>) into <paramref name="directory"/>; returns their names.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(EnvironmentDefinition environment, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var compose = ComposeTopology.For(environment);
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["haproxy.cfg"] = HaproxyConfig.For(compose, Path.Combine(ConfigDirectory, "haproxy.sock"), GeneratedFor),
            [SipOptionsCheck] = SipOptionsCheckScript(compose),
            [PostBootstrap] = PostBootstrapScript(),
        };
        foreach (var region in compose.Regions)
        {
            files[$"kamailio-{region.Name}.cfg"] = KamailioConfig.For(compose, region, GeneratedFor);
            files[$"redis-{region.Name}.conf"] = RedisConfig(compose, region);
            files[$"sentinel-{region.Name}.conf"] = SentinelConfig(compose, region);
            files[$"sentinel-{region.Name}.sh"] = SentinelScript(compose, region);
            files[$"etcd-{region.Name}.sh"] = EtcdScript(compose, region);
            files[$"patroni-{region.Name}.yml"] = PatroniConfig.For(compose, region, PostgresDataDirectory, "/tmp", "/tmp/pgpass", durable: true,
                postBootstrap: $"bash {ConfigDirectory}/{PostBootstrap}");
        }

        Directory.CreateDirectory(directory);
        File.Delete(Path.Combine(directory, ReadyMarker));
        foreach (var (name, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, name), text, cancellationToken).ConfigureAwait(false);
        }

        await File.WriteAllTextAsync(Path.Combine(directory, ReadyMarker), $"{compose.Name} {compose.Profile?.Name}\n", cancellationToken).ConfigureAwait(false);
        return [.. files.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>A region's Redis: the primary's is the master, the others replicate from it by name, through the links.</summary>
    public static string RedisConfig(EnvironmentDefinition compose, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(region);
        var lines = new List<string>
        {
            "bind 0.0.0.0",
            $"port {Invariant(region.Redis.Port)}",
            // Connections from other regions arrive from the link server's address, not loopback.
            "protected-mode no",
            "daemonize no",
            "dir /tmp",
            "save \"\"",
            "appendonly no",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
            // Every Sentinel dials this name: in each region it means the way there (its own address, or its link).
            $"replica-announce-ip {ComposeTopology.HostName(region.Name, RegionService.Redis)}",
            $"replica-announce-port {Invariant(region.Redis.Port)}",
        };
        if (!region.IsPrimary)
        {
            var master = compose.Primary;
            lines.Add($"replicaof {ComposeTopology.HostName(master.Name, RegionService.Redis)} {Invariant(master.Redis.Port)}");
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>A region's Sentinel: the local topology's settings, every peer pre-seeded by name (resolved per region).</summary>
    public static string SentinelConfig(EnvironmentDefinition compose, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(region);
        var master = compose.Primary;
        var name = RedisTier.MasterName;
        var lines = new List<string>
        {
            "bind 0.0.0.0",
            $"port {Invariant(region.Sentinel.Port)}",
            "protected-mode no",
            "daemonize no",
            "dir /tmp",
            // Before any name is used: names, not addresses, are what differs by region.
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            $"sentinel myid {RedisTier.SentinelId(compose, region)}",
            $"sentinel announce-ip {ComposeTopology.HostName(region.Name, RegionService.Sentinel)}",
            $"sentinel announce-port {Invariant(region.Sentinel.Port)}",
            $"sentinel monitor {name} {ComposeTopology.HostName(master.Name, RegionService.Redis)} {Invariant(master.Redis.Port)} 2",
            $"sentinel down-after-milliseconds {name} {Invariant((int)RedisTier.DownAfter.TotalMilliseconds)}",
            $"sentinel failover-timeout {name} {Invariant((int)RedisTier.FailoverTimeoutSetting.TotalMilliseconds)}",
            $"sentinel parallel-syncs {name} 1",
        };
        lines.AddRange(compose.Replicas.Select(replica =>
            $"sentinel known-replica {name} {ComposeTopology.HostName(replica.Name, RegionService.Redis)} {Invariant(replica.Redis.Port)}"));
        lines.AddRange(compose.Regions.Where(other => other.Name != region.Name).Select(other =>
            $"sentinel known-sentinel {name} {ComposeTopology.HostName(other.Name, RegionService.Sentinel)} {Invariant(other.Sentinel.Port)} {RedisTier.SentinelId(compose, other)}"));
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// A region's Sentinel, run as <c>bash sentinel-lagos.sh</c>: it starts once the master answers PING (from this
    /// region: through the link), as the local topology starts Sentinels only after every Redis is ready. Started with
    /// the rest, a Sentinel counted the master's own start as down (two at once are the quorum). Two that did so would
    /// fail over a master that never failed, and the old master, up by then and still configured as one, acknowledges
    /// writes until Sentinel makes it a replica, which drops them: the likely cause of a compose test losing 18 of 40
    /// keys on every node in CI (docs/measured-facts.md, "Sentinels started beside their master"). After
    /// <see cref="SentinelWaitsForMaster"/> it starts anyway: a master that never answers is Sentinel's to handle.
    /// </summary>
    public static string SentinelScript(EnvironmentDefinition compose, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(region);
        var master = compose.Primary;
        var host = ComposeTopology.HostName(master.Name, RegionService.Redis);
        var port = Invariant(master.Redis.Port);
        return $"""
            #!/bin/bash
            # VoxGuard.Resilience: {region.Name}'s Sentinel in {GeneratedFor}. Generated; do not edit.
            deadline=$((SECONDS + {Invariant((int)SentinelWaitsForMaster.TotalSeconds)}))
            until [ "$(timeout 2 redis-cli -h {host} -p {port} ping 2>/dev/null)" = PONG ]; do
              if (( SECONDS >= deadline )); then
                echo "sentinel-{region.Name}: {host}:{port} did not answer PING in {Invariant((int)SentinelWaitsForMaster.TotalSeconds)} s; starting Sentinel anyway" >&2
                break
              fi
              sleep 0.2
            done
            exec redis-server {ConfigDirectory}/sentinel-{region.Name}.conf --sentinel

            """;
    }

    /// <summary>
    /// A region's etcd member: <see cref="EtcdCluster.MemberArguments"/> (the local topology's command line) with its data
    /// in the container's /var/lib/etcd, run as <c>bash etcd-lagos.sh</c> (etcd reads no configuration file of ours).
    /// </summary>
    public static string EtcdScript(EnvironmentDefinition compose, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(compose);
        ArgumentNullException.ThrowIfNull(region);
        var arguments = EtcdCluster.MemberArguments(compose, region, "/var/lib/etcd/voxguard", $"voxguard-{compose.Name}");
        return $"""
            #!/bin/bash
            # VoxGuard.Resilience: {region.Name}'s etcd member in {GeneratedFor}. Generated; do not edit.
            exec etcd {string.Join(' ', arguments.Select(argument => $"'{argument}'"))}

            """;
    }

    /// <summary>
    /// The containers' SIP health check: the balancer's own SIP OPTIONS request (<see cref="HaproxyConfig.HealthCheckRequest"/>)
    /// over TCP with bash's /dev/tcp, passing on a 200 within 2 s. The images have no SIP client that does less.
    /// </summary>
    public static string SipOptionsCheckScript(EnvironmentDefinition compose)
    {
        ArgumentNullException.ThrowIfNull(compose);
        var request = HaproxyConfig.HealthCheckRequest(compose).Replace("\r\n", "\\r\\n", StringComparison.Ordinal);
        return $$"""
            #!/bin/bash
            # VoxGuard.Resilience: SIP OPTIONS health check of {{GeneratedFor}}. Generated; do not edit.
            # Usage: sip-options-check.sh ADDRESS PORT — exit 0 when the answer is SIP/2.0 200.
            set -eu
            exec 3<>"/dev/tcp/$1/$2"
            printf '{{request}}' >&3
            IFS= read -r -t 2 status <&3
            [[ "$status" == "SIP/2.0 200"* ]]

            """;
    }

    /// <summary>
    /// Run by the bootstrapping node's Patroni with a connection URL (as the superuser) once the cluster exists: the
    /// schema the local topology's harness creates itself, here made by the database's own bootstrap.
    /// </summary>
    public static string PostBootstrapScript() =>
        $"""
        #!/bin/bash
        # VoxGuard.Resilience: Patroni's post_bootstrap in {GeneratedFor}. Generated; do not edit.
        set -eu
        exec psql "$1" -v ON_ERROR_STOP=1 -q {string.Join(' ', PostgresTier.Schema.Select(statement => $"-c '{statement}'"))}

        """;

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
