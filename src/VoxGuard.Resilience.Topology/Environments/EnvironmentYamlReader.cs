using System.Net;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// Turns the sections of an environment file into the model. Values that cannot be read are reported and replaced
/// by placeholders; their paths are marked so the rules in <see cref="EnvironmentValidator"/> skip them.
/// </summary>
internal static class EnvironmentYamlReader
{
    public static readonly string[] RootKeys =
        ["name", "description", "default_profile", "hosts", "regions", "balancer", "links", "replication", "targets", "failback", "database", "backups", "profiles"];

    /// <summary>What a profile may set: its description and any section of the file (lists are replaced whole).</summary>
    public static readonly string[] ProfileKeys =
        ["description", "regions", "balancer", "links", "replication", "targets", "failback", "database", "backups"];

    private static readonly string[] RegionKeys =
        ["name", "role", "address_block", "weight", "priority", "sip", "engine", "redis", "sentinel", "postgres", "patroni", "etcd", "etcd_peer", "pgbackrest"];

    private static readonly string[] SipKeys = ["address", "udp_port", "tcp_port"];
    private static readonly string[] ServiceKeys = ["address", "port"];

    private static readonly string[] BalancerKeys =
        ["address", "sip_port", "transport", "mode", "redispatch", "health_check", "session_affinity", "circuit_breaker", "access_links"];

    private static readonly string[] AccessLinksKeys = ["enabled", "latency"];

    private static readonly string[] HealthCheckKeys = ["interval", "timeout", "rise", "fall"];
    private static readonly string[] SessionAffinityKeys = ["timeout"];
    private static readonly string[] CircuitBreakerKeys = ["failures_to_open", "successes_to_close", "enabled"];
    private static readonly string[] LinkKeys = ["from", "to", "latency"];
    private static readonly string[] ReplicationKeys = ["lag_target", "lag_alert"];

    private static readonly string[] TargetKeys =
        ["failover", "rpo", "rto", "traffic_split_after_primary_loss", "distribution_deviation_alert"];

    private static readonly string[] FailbackKeys = ["enabled", "delay", "health_threshold"];
    private static readonly string[] DatabaseKeys = ["commit", "ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover"];

    private static readonly string[] BackupsKeys =
        ["enabled", "full", "incremental", "utc_offset", "wal_archiving", "archive_timeout", "retention", "repositories", "redis", "time_compression"];

    private static readonly string[] BackupIntervalKeys = ["every", "at"];
    private static readonly string[] RetentionKeys = ["online_days", "archived_years"];
    private static readonly string[] RepositoryKeys = ["name", "region", "path"];
    private static readonly string[] RedisPersistenceKeys = ["appendonly", "appendfsync"];

    private static readonly Dictionary<string, RedisAppendFsync> AppendFsyncs = new(StringComparer.Ordinal)
    {
        ["always"] = RedisAppendFsync.Always,
        ["everysec"] = RedisAppendFsync.EverySec,
        ["no"] = RedisAppendFsync.No,
    };

    private static readonly Dictionary<string, CommitRule> CommitRules = new(StringComparer.Ordinal)
    {
        ["async"] = CommitRule.Async,
        ["majority"] = CommitRule.Majority,
    };

    private static readonly Dictionary<string, RegionRole> Roles = new(StringComparer.Ordinal)
    {
        ["primary"] = RegionRole.Primary,
        ["replica"] = RegionRole.Replica,
    };

    private static readonly Dictionary<string, BalancerTransport> Transports = new(StringComparer.Ordinal)
    {
        ["tcp"] = BalancerTransport.Tcp,
        ["udp"] = BalancerTransport.Udp,
    };

    private static readonly Dictionary<string, BalancerMode> Modes = new(StringComparer.Ordinal)
    {
        ["source"] = BalancerMode.Source,
        ["roundrobin"] = BalancerMode.RoundRobin,
        ["priority"] = BalancerMode.Priority,
    };

    private static readonly Dictionary<string, RegionHosting> Hostings = new(StringComparer.Ordinal)
    {
        ["loopback"] = RegionHosting.Loopback,
        ["containers"] = RegionHosting.Containers,
    };

    private static readonly IPAddress NoAddress = IPAddress.Any;
    private static readonly IPNetwork NoNetwork = new(IPAddress.Any, 0);

    public static EnvironmentDefinition Read(
        YamlSection root, string source, ProfileDefinition? profile, IReadOnlyList<string> profiles)
    {
        var environment = new EnvironmentDefinition(
            Name: root.String("name", required: true) ?? string.Empty,
            Description: root.String("description", required: false) ?? string.Empty,
            Source: source,
            Profile: profile,
            Profiles: profiles,
            Regions: ReadRegions(root),
            Balancer: ReadBalancer(root.Section("balancer", required: true, BalancerKeys)),
            Links: ReadLinks(root),
            Replication: ReadReplication(root.Section("replication", required: true, ReplicationKeys)),
            Targets: ReadTargets(root.Section("targets", required: true, TargetKeys)),
            Failback: ReadFailback(root.Section("failback", required: true, FailbackKeys)))
        {
            Database = ReadDatabase(root.Section("database", required: false, DatabaseKeys)),
            Hosts = root.Choice("hosts", required: false, Hostings) ?? RegionHosting.Loopback,
        };
        var backups = root.Section("backups", required: false, BackupsKeys);
        return backups is null ? environment : environment with { Backups = ReadBackups(backups, environment.Regions) };
    }

    private static List<RegionDefinition> ReadRegions(YamlSection root)
    {
        var regions = new List<RegionDefinition>();
        foreach (var item in root.Sequence("regions", required: true) ?? [])
        {
            var region = YamlSection.FromItem(root.Problems, item, RegionKeys);
            var postgres = ReadService(region?.Section("postgres", required: true, ServiceKeys));
            regions.Add(new RegionDefinition(
                Name: region?.String("name", required: true) ?? string.Empty,
                Role: region?.Choice("role", required: true, Roles) ?? RegionRole.Replica,
                AddressBlock: region?.Network("address_block", required: true) ?? NoNetwork,
                Weight: region?.Int("weight", required: true) ?? 0,
                Priority: region?.Int("priority", required: true) ?? 0,
                Sip: ReadSip(region?.Section("sip", required: true, SipKeys)),
                Engine: ReadService(region?.Section("engine", required: true, ServiceKeys)),
                Redis: ReadService(region?.Section("redis", required: true, ServiceKeys)),
                Sentinel: ReadService(region?.Section("sentinel", required: true, ServiceKeys)),
                Postgres: postgres,
                Patroni: ReadService(region?.Section("patroni", required: false, ServiceKeys), postgres.Address, RegionDefinition.DefaultPatroniPort),
                Etcd: ReadService(region?.Section("etcd", required: false, ServiceKeys), postgres.Address, RegionDefinition.DefaultEtcdPort),
                EtcdPeer: ReadService(region?.Section("etcd_peer", required: false, ServiceKeys), postgres.Address, RegionDefinition.DefaultEtcdPeerPort))
            {
                PgBackRest = ReadService(region?.Section("pgbackrest", required: false, ServiceKeys), postgres.Address, RegionDefinition.DefaultPgBackRestPort),
            });
        }

        return regions;
    }

    private static SipEndpoint ReadSip(YamlSection? sip) =>
        new(
            sip?.Address("address", required: true) ?? NoAddress,
            sip?.Int("udp_port", required: true) ?? 0,
            sip?.Int("tcp_port", required: true) ?? 0);

    private static ServiceEndpoint ReadService(YamlSection? service) =>
        new(service?.Address("address", required: true) ?? NoAddress, service?.Int("port", required: true) ?? 0);

    // An optional service: where the file names none, it sits on the database host (the PostgreSQL address) at its
    // program's own default port, as Patroni and etcd do on a YugabyteDB-like node.
    private static ServiceEndpoint ReadService(YamlSection? service, IPAddress host, int defaultPort) =>
        service is null
            ? new(host, defaultPort)
            : new(service.Address("address", required: false) ?? host, service.Int("port", required: false) ?? defaultPort);

    private static BalancerDefinition ReadBalancer(YamlSection? balancer)
    {
        var health = balancer?.Section("health_check", required: true, HealthCheckKeys);
        var affinity = balancer?.Section("session_affinity", required: true, SessionAffinityKeys);
        var breaker = balancer?.Section("circuit_breaker", required: true, CircuitBreakerKeys);
        var access = balancer?.Section("access_links", required: false, AccessLinksKeys);
        return new BalancerDefinition(
            Address: balancer?.Address("address", required: true) ?? NoAddress,
            SipPort: balancer?.Int("sip_port", required: true) ?? 0,
            Transport: balancer?.Choice("transport", required: true, Transports) ?? BalancerTransport.Tcp,
            Mode: balancer?.Choice("mode", required: true, Modes) ?? BalancerMode.RoundRobin,
            Redispatch: balancer?.Bool("redispatch", required: true) ?? false,
            HealthCheck: new HealthCheck(
                health?.Duration("interval", required: true) ?? TimeSpan.Zero,
                health?.Duration("timeout", required: true) ?? TimeSpan.Zero,
                health?.Int("rise", required: true) ?? 0,
                health?.Int("fall", required: true) ?? 0),
            SessionAffinity: new SessionAffinity(affinity?.Duration("timeout", required: true) ?? TimeSpan.Zero),
            CircuitBreaker: new CircuitBreaker(
                breaker?.Int("failures_to_open", required: true) ?? 0,
                breaker?.Int("successes_to_close", required: true) ?? 0,
                breaker?.Bool("enabled", required: false) ?? true))
        {
            // An access_links section turns them on unless it says otherwise; its latency is 0 unless given.
            AccessLinks = access is null
                ? BalancerAccessLinks.Off
                : new BalancerAccessLinks(access.Bool("enabled", required: false) ?? true, access.Duration("latency", required: false) ?? TimeSpan.Zero),
        };
    }

    private static List<LinkDefinition> ReadLinks(YamlSection root)
    {
        var links = new List<LinkDefinition>();
        foreach (var item in root.Sequence("links", required: true) ?? [])
        {
            var link = YamlSection.FromItem(root.Problems, item, LinkKeys);
            links.Add(new LinkDefinition(
                link?.String("from", required: true) ?? string.Empty,
                link?.String("to", required: true) ?? string.Empty,
                link?.Duration("latency", required: true) ?? TimeSpan.Zero));
        }

        return links;
    }

    private static ReplicationDefinition ReadReplication(YamlSection? replication) =>
        new(
            replication?.Duration("lag_target", required: true) ?? TimeSpan.Zero,
            replication?.Duration("lag_alert", required: true) ?? TimeSpan.Zero);

    private static Targets ReadTargets(YamlSection? targets)
    {
        var split = new Dictionary<string, double>(StringComparer.Ordinal);
        var splitSection = targets?.Section("traffic_split_after_primary_loss", required: true, keys: null);
        foreach (var region in splitSection?.Keys() ?? [])
        {
            split[region] = splitSection!.Number(region, required: true) ?? 0;
        }

        return new Targets(
            Failover: targets?.Duration("failover", required: true) ?? TimeSpan.Zero,
            Rpo: targets?.Duration("rpo", required: true) ?? TimeSpan.Zero,
            Rto: targets?.Duration("rto", required: true) ?? TimeSpan.Zero,
            TrafficSplitAfterPrimaryLoss: split,
            DistributionDeviationAlertPercent: targets?.Number("distribution_deviation_alert", required: true) ?? 0);
    }

    private static DatabaseDefinition ReadDatabase(YamlSection? database)
    {
        var defaults = DatabaseDefinition.PatroniDefaults;
        return database is null
            ? defaults
            : new DatabaseDefinition(
                database.Choice("commit", required: false, CommitRules) ?? defaults.Commit,
                database.Duration("ttl", required: false) ?? defaults.Ttl,
                database.Duration("loop_wait", required: false) ?? defaults.LoopWait,
                database.Duration("retry_timeout", required: false) ?? defaults.RetryTimeout,
                database.Int("maximum_lag_on_failover", required: false) ?? defaults.MaximumLagOnFailoverBytes);
    }

    // Every key is optional: what the file leaves out is the guide's (on the file's regions).
    private static BackupsDefinition ReadBackups(YamlSection backups, IReadOnlyList<RegionDefinition> regions)
    {
        var guide = BackupsDefinition.GuideDefaults(regions);
        var retention = backups.Section("retention", required: false, RetentionKeys);
        var redis = backups.Section("redis", required: false, RedisPersistenceKeys);
        return new BackupsDefinition(
            ReadBackupInterval(backups.Section("full", required: false, BackupIntervalKeys), guide.Full),
            ReadBackupInterval(backups.Section("incremental", required: false, BackupIntervalKeys), guide.Incremental),
            backups.Duration("utc_offset", required: false) ?? guide.UtcOffset,
            backups.Bool("wal_archiving", required: false) ?? guide.WalArchiving,
            backups.Duration("archive_timeout", required: false) ?? guide.ArchiveTimeout,
            new BackupRetention(
                retention?.Int("online_days", required: false) ?? guide.Retention.OnlineDays,
                retention?.Int("archived_years", required: false) ?? guide.Retention.ArchivedYears),
            ReadRepositories(backups) ?? guide.Repositories,
            new RedisPersistence(
                redis?.Bool("appendonly", required: false) ?? guide.Redis.AppendOnly,
                redis?.Choice("appendfsync", required: false, AppendFsyncs) ?? guide.Redis.AppendFsync),
            backups.Number("time_compression", required: false) ?? guide.TimeCompression)
        {
            Enabled = backups.Bool("enabled", required: false) ?? true, // a backups section runs them unless it says otherwise
        };
    }

    private static BackupInterval ReadBackupInterval(YamlSection? interval, BackupInterval guide)
    {
        if (interval is null)
        {
            return guide;
        }

        var at = interval.String("at", required: false);
        TimeOnly? time = guide.At;
        if (at is not null)
        {
            time = TimeOnly.TryParseExact(at, "HH:mm", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var parsed)
                ? parsed
                : null;
            if (time is null)
            {
                interval.Problems.AddUnreadable($"{interval.Path}.at", $"'{at}' is not a time of day; write it as HH:MM on the schedule's clock, e.g. \"02:00\"");
            }
        }

        return new BackupInterval(interval.Duration("every", required: false) ?? guide.Every, time);
    }

    private static List<BackupRepositoryDefinition>? ReadRepositories(YamlSection backups)
    {
        var items = backups.Sequence("repositories", required: false);
        if (items is null)
        {
            return null;
        }

        var repositories = new List<BackupRepositoryDefinition>();
        foreach (var item in items)
        {
            var repository = YamlSection.FromItem(backups.Problems, item, RepositoryKeys);
            repositories.Add(new BackupRepositoryDefinition(
                repository?.String("name", required: true) ?? string.Empty,
                repository?.String("region", required: true) ?? string.Empty,
                repository?.String("path", required: false)));
        }

        return repositories;
    }

    private static FailbackDefinition ReadFailback(YamlSection? failback) =>
        new(
            failback?.Bool("enabled", required: true) ?? false,
            failback?.Duration("delay", required: true) ?? TimeSpan.Zero,
            failback?.Number("health_threshold", required: true) ?? 0);
}
