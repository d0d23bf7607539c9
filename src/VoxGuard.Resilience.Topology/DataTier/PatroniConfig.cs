using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The patroni.yml of one region's node: the cluster-wide settings Patroni writes into etcd at bootstrap (timings,
/// commit rule, PostgreSQL parameters) and the node's own (addresses, directories). Addresses other nodes dial are
/// <see cref="RegionHosts"/> names, so they resolve through the links in every other region.
/// </summary>
public static class PatroniConfig
{
    /// <summary>The Patroni cluster's name (its scope in etcd).</summary>
    public const string Scope = "voxguard";

    /// <summary>The patroni.yml text for <paramref name="region"/>'s node.</summary>
    /// <param name="environment">The environment (its <see cref="EnvironmentDefinition.Database"/> gives the timings and commit rule).</param>
    /// <param name="region">The node's region.</param>
    /// <param name="dataDirectory">The node's PGDATA (empty until Patroni bootstraps or clones it).</param>
    /// <param name="socketDirectory">The node's unix socket directory (every node listens on the same port).</param>
    /// <param name="pgpass">Where Patroni may write its .pgpass.</param>
    /// <param name="archiving">WAL archiving (archive_mode on, the region's archive_command, archive_timeout); null: none.</param>
    /// <param name="durable">fsync on (docker-compose.chaos.yml: data on a container's disk); off by default (tmpfs, below).</param>
    /// <param name="postBootstrap">A command Patroni runs once it has bootstrapped the cluster, with a connection URL
    /// added (docker-compose.chaos.yml creates <see cref="PostgresTier.Schema"/> so); null: none (the local topology creates it itself).</param>
    public static string For(EnvironmentDefinition environment, RegionDefinition region, string dataDirectory, string socketDirectory, string pgpass, WalArchiving? archiving = null, bool durable = false,
        string? postBootstrap = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var database = environment.Database;
        var majority = database.Commit == CommitRule.Majority;
        var etcdHosts = new[] { region }.Concat(environment.Regions.Where(each => each.Name != region.Name))
            .Select(each => $"{RegionHosts.Etcd(each.Name)}:{each.Etcd.Port}");
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"# Written by VoxGuard.Resilience for {region.Name}'s node (environment {environment.Name}).");
        text.AppendLine(culture, $"scope: {Scope}");
        text.AppendLine(culture, $"name: {region.Name}");
        text.AppendLine("log:");
        text.AppendLine("  level: INFO");
        text.AppendLine("restapi:");
        text.AppendLine(culture, $"  listen: {region.Patroni.EndPoint}");
        text.AppendLine(culture, $"  connect_address: {RegionHosts.Patroni(region.Name)}:{region.Patroni.Port}");
        // etcd's v2 API, not etcd3: Patroni 3.0.2 (Debian 12) renews its leader key over etcd3 with an unconditional put
        // when its cached view is stale, so an isolated former leader that comes back steals the key from the leader the
        // majority elected meanwhile (seen here: two primaries on two timelines 2). Its v2 client renews with
        // compare-and-swap (prevValue), which cannot (docs/measured-facts.md, "Patroni 3.0.2 over etcd3: a returning
        // leader steals the key").
        text.AppendLine("etcd:");
        text.AppendLine(culture, $"  hosts: [{string.Join(", ", etcdHosts)}]");
        text.AppendLine("bootstrap:");
        if (postBootstrap is not null)
        {
            text.AppendLine(culture, $"  post_bootstrap: {postBootstrap}");
        }

        if (region.IsPrimary && archiving?.BootstrapRestoreCommand is { } restore)
        {
            // Patroni's documented custom bootstrap with pgBackRest: the restore writes recovery.signal and its
            // restore_command (kept), PostgreSQL replays to the end of the archived WAL and promotes, and only then does
            // Patroni take the leader key (the tables below exist already: the restore brought them back).
            text.AppendLine("  method: pgbackrest");
            text.AppendLine("  pgbackrest:");
            text.AppendLine(culture, $"    command: '{restore.Replace("'", "''", StringComparison.Ordinal)}'");
            text.AppendLine("    keep_existing_recovery_conf: true");
            text.AppendLine("    no_params: true");
        }

        text.AppendLine("  dcs:");
        text.AppendLine(culture, $"    ttl: {(int)database.Ttl.TotalSeconds}");
        text.AppendLine(culture, $"    loop_wait: {(int)database.LoopWait.TotalSeconds}");
        text.AppendLine(culture, $"    retry_timeout: {(int)database.RetryTimeout.TotalSeconds}");
        text.AppendLine(culture, $"    maximum_lag_on_failover: {database.MaximumLagOnFailoverBytes}");
        // majority: a commit waits for the standbys (in other regions: one node per region); strict, so a primary with no
        // standby reachable acknowledges nothing rather than falling back to local commits. Every standby is synchronous,
        // not one: Patroni promotes only a synchronous standby, and with one the other (asynchronous) standby may have
        // received more WAL than the one promoted — it must then be rewound and restarted before the new primary has a
        // standby to commit with. That took a Lagos loss's writes 36-43 s to resume instead of 21 (the rewind alone 6-9 s
        // on a loaded host). With every standby synchronous Patroni promotes the most advanced one and the other just
        // follows, as a Raft follower would; a standby lost costs a commit pause until Patroni drops it from the set
        // (docs/measured-facts.md, "Strict synchronous mode with one synchronous standby: a rewind on the failover's path").
        text.AppendLine(culture, $"    synchronous_mode: {(majority ? "true" : "false")}");
        text.AppendLine(culture, $"    synchronous_mode_strict: {(majority ? "true" : "false")}");
        if (majority)
        {
            text.AppendLine(culture, $"    synchronous_node_count: {environment.Regions.Count - 1}");
        }

        text.AppendLine("    postgresql:");
        text.AppendLine("      use_pg_rewind: true");
        text.AppendLine("      use_slots: true");
        text.AppendLine("      remove_data_directory_on_rewind_failure: true");
        text.AppendLine("      remove_data_directory_on_diverged_timelines: true");
        text.AppendLine("      parameters:");
        foreach (var (name, value) in ClusterParameters.Where(parameter => !durable || parameter.Name != "fsync"))
        {
            text.AppendLine(culture, $"        {name}: {value}");
        }

        // A primary cut off silently (packets dropped, nothing refused) must stop before Patroni's next HA loop: Patroni
        // 3.0 demotes it once etcd has been out of reach for retry_timeout, and its fast shutdown waits for every
        // walsender to have its last WAL confirmed. With PostgreSQL's default wal_sender_timeout (60 s) the walsenders
        // to the unreachable standbys hang, the next loop (at least a retry_timeout later) demotes a second time from
        // the main thread, two postmasters start on one data directory and the rewind destroys it
        // (patroni/patroni#3649, fixed by #3372 after 3.0). Twice retry_timeout: the walsenders are gone before that
        // second loop, yet a WAN delay step of a few seconds (the replication-lag scenario adds 3 s at once, a silence of
        // 3 s in the standby's replies) does not disconnect a standby (retry_timeout alone did, ci: 3 s).
        text.AppendLine(culture, $"        wal_sender_timeout: {(int)(2 * database.RetryTimeout).TotalMilliseconds}ms");

        text.AppendLine("  initdb:");
        text.AppendLine("    - encoding: UTF8");
        text.AppendLine("    - locale: C");
        text.AppendLine("    - no-sync");
        text.AppendLine("postgresql:");
        text.AppendLine(culture, $"  listen: {region.Postgres.EndPoint}");
        text.AppendLine(culture, $"  connect_address: {RegionHosts.Postgres(region.Name)}:{region.Postgres.Port}");
        text.AppendLine(culture, $"  data_dir: {dataDirectory}");
        text.AppendLine("  bin_dir: /usr/lib/postgresql/15/bin");
        text.AppendLine(culture, $"  pgpass: {pgpass}");
        text.AppendLine("  authentication:");
        text.AppendLine(culture, $"    superuser: {{ username: {PostgresTier.User} }}");
        text.AppendLine(culture, $"    replication: {{ username: {PostgresTier.User} }}");
        text.AppendLine(culture, $"    rewind: {{ username: {PostgresTier.User} }}");
        if (region.IsPrimary && archiving?.BootstrapRestoreCommand is not null)
        {
            // A custom bootstrap opens trust only for the unix socket and the node's own address until it ends, and a
            // TCP connection on loopback leaves from 127.0.0.1: Patroni must talk to the restoring PostgreSQL by socket.
            text.AppendLine("  use_unix_socket: true");
        }

        text.AppendLine("  basebackup:");
        text.AppendLine("    - checkpoint: fast");
        text.AppendLine("  parameters:");
        text.AppendLine(culture, $"    unix_socket_directories: '{socketDirectory}'");
        if (archiving is not null)
        {
            // Node-local: each region's command names its own pgBackRest configuration. archive_mode needs a restart, so
            // it is set from the start; the command itself lets WAL go until the stanza exists (see PostgresBackups).
            text.AppendLine("    archive_mode: 'on'");
            text.AppendLine(culture, $"    archive_command: '{archiving.CommandByRegion[region.Name].Replace("'", "''", StringComparison.Ordinal)}'");
            text.AppendLine(culture, $"    archive_timeout: {(int)archiving.Timeout.TotalSeconds}");
        }

        text.AppendLine("  pg_hba:");
        text.AppendLine("    - local all all trust");
        text.AppendLine("    - host all all 127.0.0.0/8 trust");
        text.AppendLine("    - host replication all 127.0.0.0/8 trust");
        if (environment.Hosts == RegionHosting.Containers || environment.Regions.Any(each => !Loopback.Contains(each.AddressBlock.BaseAddress)))
        {
            // In containers, clients come from the regions' networks: the region's own servers, and this machine's side
            // of each network (the harness, and the link server's connections into the region).
            foreach (var block in environment.Regions.Select(each => each.AddressBlock))
            {
                text.AppendLine(culture, $"    - host all all {block} trust");
                text.AppendLine(culture, $"    - host replication all {block} trust");
            }
        }

        return text.ToString();
    }

    private static readonly System.Net.IPNetwork Loopback = System.Net.IPNetwork.Parse("127.0.0.0/8");

    // What every node runs with (Patroni keeps them in etcd). fsync off: the data lives on tmpfs and a region loss
    // kills processes, never the machine, so durability against power loss would only cost time.
    private static readonly (string Name, string Value)[] ClusterParameters =
    [
        ("wal_level", "replica"),
        ("hot_standby", "'on'"),
        ("wal_log_hints", "'on'"),
        ("max_connections", "100"),
        ("max_wal_senders", "10"),
        ("max_replication_slots", "10"),
        ("wal_keep_size", "128MB"),
        ("shared_buffers", "16MB"),
        ("fsync", "'off'"),
        // A standby retries its WAL source every 100 ms instead of 5 s: recovery and re-pointing finish sooner
        // (docs/measured-facts.md, "PostgreSQL standby retry interval").
        ("wal_retrieve_retry_interval", "100ms"),
        // Dynamic shared memory as files in the data directory: a killed node's segments go with the run directory.
        ("dynamic_shared_memory_type", "mmap"),
    ];
}
