using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// The rules an environment must meet before anything starts. Every broken rule is added to the
/// <see cref="ProblemList"/>; nothing throws here, so one run names every problem.
/// </summary>
internal static partial class EnvironmentValidator
{
    private const string LoopbackOnly = "the harness only ever targets loopback addresses";
    private const string PrivateOnly = "with hosts: containers, each region's block is the subnet of a network the harness makes, a private IPv4 block (10.231.1.0/24)";
    private static readonly IPNetwork Loopback = new(new IPAddress([127, 0, 0, 0]), 8);

    // RFC 1918: the only blocks a region's container network may take.
    private static readonly IPNetwork[] PrivateBlocks =
        [new(new IPAddress([10, 0, 0, 0]), 8), new(new IPAddress([172, 16, 0, 0]), 12), new(new IPAddress([192, 168, 0, 0]), 16)];

    public static void Validate(EnvironmentDefinition environment, ProblemList problems)
    {
        CheckName(environment, problems);
        var names = CheckRegions(environment, problems);
        CheckBalancer(environment, problems);
        CheckSockets(environment, problems);
        CheckLinks(environment, names, problems);
        CheckReplication(environment.Replication, problems);
        CheckTargets(environment, names, problems);
        CheckFailback(environment.Failback, problems);
        CheckDatabase(environment.Database, problems);
        CheckBackups(environment.Backups, names, problems);
    }

    private static void CheckBackups(BackupsDefinition backups, List<string>? regionNames, ProblemList problems)
    {
        var fullOk = Positive(problems, "backups.full.every", backups.Full.Every);
        var incrementalOk = Positive(problems, "backups.incremental.every", backups.Incremental.Every);
        if (fullOk && incrementalOk && backups.Incremental.Every > backups.Full.Every)
        {
            problems.Add("backups.incremental.every", $"is {DurationText.Format(backups.Incremental.Every)}, longer than the full interval {DurationText.Format(backups.Full.Every)}; an incremental would never run");
        }

        if (problems.IsReadable("backups.utc_offset") && backups.UtcOffset.Duration() > TimeSpan.FromHours(14))
        {
            problems.Add("backups.utc_offset", $"is {DurationText.Format(backups.UtcOffset)}; a clock's offset from UTC is between -14h and 14h (WAT is 1h)");
        }

        if (problems.IsReadable("backups.archive_timeout") && (backups.ArchiveTimeout < TimeSpan.Zero || backups.ArchiveTimeout.Ticks % TimeSpan.TicksPerSecond != 0))
        {
            problems.Add("backups.archive_timeout", $"is {DurationText.Format(backups.ArchiveTimeout)}; PostgreSQL takes whole seconds, 0s (never force a switch) or more");
        }

        if (problems.IsReadable("backups.retention.online_days") && backups.Retention.OnlineDays < 1)
        {
            problems.Add("backups.retention.online_days", "must be 1 or more (the guide keeps 30 days online)");
        }

        if (problems.IsReadable("backups.retention.archived_years") && backups.Retention.ArchivedYears < 0)
        {
            problems.Add("backups.retention.archived_years", "must be 0 or more (the guide archives for 7 years)");
        }

        CheckRepositories(backups.Repositories, regionNames, problems);

        if (!problems.IsReadable("backups.time_compression"))
        {
            return;
        }

        if (backups.TimeCompression < 1)
        {
            problems.Add("backups.time_compression", string.Create(CultureInfo.InvariantCulture, $"is {backups.TimeCompression}; a factor of 1 (real time) or more"));
            return;
        }

        var shortest = fullOk && incrementalOk ? backups.Compress(TimeSpan.FromTicks(Math.Min(backups.Full.Every.Ticks, backups.Incremental.Every.Ticks))) : TimeSpan.MaxValue;
        if (shortest < BackupsDefinition.MinimumCompressedInterval)
        {
            var largest = Math.Floor(Math.Min(backups.Full.Every.Ticks, backups.Incremental.Every.Ticks) / (double)BackupsDefinition.MinimumCompressedInterval.Ticks);
            problems.Add("backups.time_compression", string.Create(CultureInfo.InvariantCulture,
                $"{backups.TimeCompression} runs a backup every {shortest.TotalMilliseconds:0.#}ms; a full backup takes 2.6–3.6 s here, so keep every compressed interval at {DurationText.Format(BackupsDefinition.MinimumCompressedInterval)} or more (time_compression {largest} at most)"));
        }
    }

    private static void CheckRepositories(IReadOnlyList<BackupRepositoryDefinition> repositories, List<string>? regionNames, ProblemList problems)
    {
        if (!problems.IsReadable("backups.repositories"))
        {
            return;
        }

        if (repositories.Count == 0)
        {
            problems.Add("backups.repositories", "must name at least one repository (the guide: object storage in Lagos, a replica in Abuja)");
            return;
        }

        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var paths = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < repositories.Count; i++)
        {
            var repository = repositories[i];
            var at = $"backups.repositories[{i}]";
            if (problems.IsReadable($"{at}.name"))
            {
                if (repository.Index is < 1 or > 256 || repository.Name != string.Create(CultureInfo.InvariantCulture, $"repo{repository.Index}"))
                {
                    problems.Add($"{at}.name", $"'{repository.Name}' must be repo1 … repo256 (pgBackRest's repository names)");
                }
                else if (!names.TryAdd(repository.Name, i))
                {
                    problems.Add($"{at}.name", $"'{repository.Name}' is already the name of backups.repositories[{names[repository.Name]}]; repository names must be unique");
                }
            }

            if (problems.IsReadable($"{at}.region") && regionNames is not null && !regionNames.Contains(repository.Region, StringComparer.Ordinal))
            {
                problems.Add($"{at}.region", $"'{repository.Region}' is not a region (known: {EnvironmentException.Known(regionNames)})");
            }

            if (repository.Path is { } path && problems.IsReadable($"{at}.path"))
            {
                if (!Path.IsPathRooted(path))
                {
                    problems.Add($"{at}.path", $"'{path}' must be an absolute path (or leave it out: the repository then lives in the run directory)");
                }
                else if (!paths.TryAdd(Path.GetFullPath(path), i))
                {
                    problems.Add($"{at}.path", $"'{path}' is already the path of backups.repositories[{paths[Path.GetFullPath(path)]}]; each repository needs a place of its own");
                }
            }
        }
    }

    // Patroni's documented rules: ttl ≥ 20 s, loop_wait ≥ 1 s, retry_timeout ≥ 3 s, loop_wait + 2 × retry_timeout ≤ ttl;
    // whole seconds (Patroni takes integers).
    private static void CheckDatabase(DatabaseDefinition database, ProblemList problems)
    {
        foreach (var (key, value, minimum) in new[] { ("ttl", database.Ttl, 20), ("loop_wait", database.LoopWait, 1), ("retry_timeout", database.RetryTimeout, 3) })
        {
            if (!problems.IsReadable($"database.{key}"))
            {
                continue;
            }

            if (value.Ticks % TimeSpan.TicksPerSecond != 0 || value < TimeSpan.FromSeconds(minimum))
            {
                problems.Add($"database.{key}", $"is {DurationText.Format(value)}; Patroni needs whole seconds, at least {minimum}s");
            }
        }

        if (database.LoopWait + (2 * database.RetryTimeout) > database.Ttl)
        {
            problems.Add("database.ttl", $"is {DurationText.Format(database.Ttl)}; Patroni needs loop_wait + 2 × retry_timeout ({DurationText.Format(database.LoopWait + (2 * database.RetryTimeout))}) or more");
        }

        if (problems.IsReadable("database.maximum_lag_on_failover") && database.MaximumLagOnFailoverBytes < 0)
        {
            problems.Add("database.maximum_lag_on_failover", $"is {database.MaximumLagOnFailoverBytes}; a number of WAL bytes, 0 or more");
        }
    }

    private static void CheckName(EnvironmentDefinition environment, ProblemList problems)
    {
        if (problems.IsReadable("name") && !EnvironmentName().IsMatch(environment.Name))
        {
            problems.Add("name", $"'{environment.Name}' must be lower-case letters, digits, '-' or '_', starting with a letter or digit");
        }
    }

    /// <summary>Checks the regions; returns their names when every one could be read (null otherwise).</summary>
    private static List<string>? CheckRegions(EnvironmentDefinition environment, ProblemList problems)
    {
        if (!problems.IsReadable("regions"))
        {
            return null;
        }

        var regions = environment.Regions;
        if (regions.Count == 0)
        {
            problems.Add("regions", "must list at least one region");
            return [];
        }

        var nameIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var priorityIndex = new Dictionary<int, int>();
        var blocks = new List<(int Index, IPNetwork Block)>();
        for (var i = 0; i < regions.Count; i++)
        {
            var region = regions[i];
            var at = $"regions[{i}]";
            if (problems.IsReadable($"{at}.name"))
            {
                if (!RegionName().IsMatch(region.Name))
                {
                    problems.Add($"{at}.name", $"'{region.Name}' must be lower-case letters and digits, starting with a letter (it is part of link names such as lagos-abuja-pg)");
                }
                else if (!nameIndex.TryAdd(region.Name, i))
                {
                    problems.Add($"{at}.name", $"'{region.Name}' is already the name of regions[{nameIndex[region.Name]}]; region names must be unique");
                }
            }

            if (problems.IsReadable($"{at}.weight") && region.Weight is < 0 or > 100)
            {
                problems.Add($"{at}.weight", "must be between 0 and 100");
            }

            if (problems.IsReadable($"{at}.priority"))
            {
                if (region.Priority < 1)
                {
                    problems.Add($"{at}.priority", "must be 1 or more (priority 1 serves first, 2 takes over from it, and so on)");
                }
                else if (!priorityIndex.TryAdd(region.Priority, i))
                {
                    var other = priorityIndex[region.Priority];
                    problems.Add($"{at}.priority", $"{region.Priority} is already the priority of regions[{other}] ({regions[other].Name}); priorities set the failover order and must differ");
                }
            }

            var blockReadable = problems.IsReadable($"{at}.address_block");
            if (blockReadable)
            {
                if (environment.Hosts == RegionHosting.Loopback && !Inside(region.AddressBlock, Loopback))
                {
                    problems.Add($"{at}.address_block", $"{region.AddressBlock} is outside 127.0.0.0/8: {LoopbackOnly}");
                    blockReadable = false;
                }
                else if (environment.Hosts == RegionHosting.Containers && !PrivateBlocks.Any(network => Inside(region.AddressBlock, network)))
                {
                    problems.Add($"{at}.address_block", $"{region.AddressBlock} is not a private block: {PrivateOnly}");
                    blockReadable = false;
                }
                else if (environment.Hosts == RegionHosting.Containers && region.AddressBlock.PrefixLength > 24)
                {
                    problems.Add($"{at}.address_block", $"{region.AddressBlock} is smaller than a /24: a region's network needs room for its servers and gateway addresses");
                    blockReadable = false;
                }
                else
                {
                    foreach (var (index, block) in blocks)
                    {
                        if (Overlap(block, region.AddressBlock))
                        {
                            problems.Add($"{at}.address_block", $"{region.AddressBlock} overlaps regions[{index}].address_block {block}; each region needs a block of its own");
                        }
                    }

                    blocks.Add((i, region.AddressBlock));
                }
            }

            var inContainer = environment.Hosts == RegionHosting.Containers;
            CheckAddress(problems, $"{at}.sip.address", region.Sip.Address, blockReadable ? region.AddressBlock : null, inContainer);
            CheckPort(problems, $"{at}.sip.udp_port", region.Sip.UdpPort);
            CheckPort(problems, $"{at}.sip.tcp_port", region.Sip.TcpPort);
            foreach (var (key, endpoint) in new[]
                     {
                         ("engine", region.Engine), ("redis", region.Redis), ("sentinel", region.Sentinel), ("postgres", region.Postgres),
                         ("patroni", region.Patroni), ("etcd", region.Etcd), ("etcd_peer", region.EtcdPeer), ("pgbackrest", region.PgBackRest),
                     })
            {
                CheckAddress(problems, $"{at}.{key}.address", endpoint.Address, blockReadable ? region.AddressBlock : null, inContainer);
                CheckPort(problems, $"{at}.{key}.port", endpoint.Port);
            }
        }

        if (Enumerable.Range(0, regions.Count).All(i => problems.IsReadable($"regions[{i}].role")))
        {
            var primaries = regions.Where(region => region.IsPrimary).Select(region => region.Name).ToList();
            if (primaries.Count == 0)
            {
                problems.Add("regions", "has no primary; exactly one region must have role primary");
            }
            else if (primaries.Count > 1)
            {
                problems.Add("regions", $"has {primaries.Count} primaries ({string.Join(", ", primaries)}); exactly one region must have role primary");
            }
        }

        if (Enumerable.Range(0, regions.Count).All(i => problems.IsReadable($"regions[{i}].weight")))
        {
            var sum = regions.Sum(region => region.Weight);
            if (sum != 100)
            {
                var shares = string.Join(", ", regions.Select(region => $"{region.Name} {region.Weight}"));
                problems.Add("regions", $"weights sum to {sum} ({shares}); they must sum to 100");
            }
        }

        return Enumerable.Range(0, regions.Count).All(i => problems.IsReadable($"regions[{i}].name"))
            ? [.. regions.Select(region => region.Name)]
            : null;
    }

    private static void CheckBalancer(EnvironmentDefinition environment, ProblemList problems)
    {
        var balancer = environment.Balancer;
        if (CheckAddress(problems, "balancer.address", balancer.Address, block: null))
        {
            for (var i = 0; i < environment.Regions.Count; i++)
            {
                var block = environment.Regions[i].AddressBlock;
                if (problems.IsReadable($"regions[{i}].address_block") && Inside(block, Loopback) && block.Contains(balancer.Address))
                {
                    problems.Add("balancer.address", $"{balancer.Address} is inside regions[{i}].address_block {block}; the balancer is global and needs an address outside every region's block");
                }
            }
        }

        CheckPort(problems, "balancer.sip_port", balancer.SipPort);
        if (balancer.Mode == BalancerMode.Priority && balancer.Transport == BalancerTransport.Udp)
        {
            problems.Add("balancer.mode", "priority (active/standby) needs transport: tcp — it is built on HAProxy's backup servers; the UDP dispatcher offers roundrobin only");
        }

        var health = balancer.HealthCheck;
        var intervalOk = Positive(problems, "balancer.health_check.interval", health.Interval);
        var timeoutOk = Positive(problems, "balancer.health_check.timeout", health.Timeout);
        if (intervalOk && timeoutOk && health.Timeout > health.Interval)
        {
            problems.Add("balancer.health_check.timeout", $"{DurationText.Format(health.Timeout)} must not exceed the interval {DurationText.Format(health.Interval)}");
        }

        var riseOk = AtLeastOne(problems, "balancer.health_check.rise", health.Rise);
        AtLeastOne(problems, "balancer.health_check.fall", health.Fall);
        Positive(problems, "balancer.session_affinity.timeout", balancer.SessionAffinity.Timeout);
        var breaker = balancer.CircuitBreaker;
        AtLeastOne(problems, "balancer.circuit_breaker.failures_to_open", breaker.FailuresToOpen);
        if (AtLeastOne(problems, "balancer.circuit_breaker.successes_to_close", breaker.SuccessesToClose)
            && breaker.Enabled && riseOk && breaker.SuccessesToClose != health.Rise)
        {
            problems.Add("balancer.circuit_breaker.successes_to_close",
                $"{breaker.SuccessesToClose} differs from the health check's rise {health.Rise}: a region the circuit breaker marked down comes back through its health checks (HAProxy and the dispatcher have no count of their own); make them equal");
        }
        CheckAccessLinks(environment, problems);
    }

    private static void CheckAccessLinks(EnvironmentDefinition environment, ProblemList problems)
    {
        const string path = "balancer.access_links.latency";
        var balancer = environment.Balancer;
        var reserved = environment.Regions.Select((region, index) => (region.Name, Index: index)).FirstOrDefault(region => region.Name == "balancer");
        if (balancer.AccessLinks.Enabled && reserved.Name is not null)
        {
            problems.Add($"regions[{reserved.Index}].name", "balancer is the name of the balancer's access links (balancer-<region>-sip) while they are on; name the region otherwise");
        }

        var latency = balancer.AccessLinks.Latency;
        if (!problems.IsReadable(path))
        {
            return;
        }

        if (latency < TimeSpan.Zero)
        {
            problems.Add(path, $"is {DurationText.Format(latency)}; a round trip is 0 or more (e.g. 10ms: 5 ms each way)");
        }
        else if (balancer.AccessLinks.Enabled && problems.IsReadable("balancer.health_check.timeout") && balancer.HealthCheck.Timeout > TimeSpan.Zero
            && latency >= balancer.HealthCheck.Timeout)
        {
            problems.Add(path,
                $"is {DurationText.Format(latency)}, not below the health check's timeout {DurationText.Format(balancer.HealthCheck.Timeout)}: every SIP OPTIONS check crosses the access link and would time out, so no region would ever be up; lower the latency or raise balancer.health_check.timeout");
        }
    }

    /// <summary>No two services (nor the balancer) may bind the same protocol, address and port.</summary>
    private static void CheckSockets(EnvironmentDefinition environment, ProblemList problems)
    {
        var sockets = new List<(string Owner, TransportProtocol Protocol, IPEndPoint EndPoint, string AddressPath, string PortPath)>();
        for (var i = 0; i < environment.Regions.Count; i++)
        {
            foreach (var binding in environment.Regions[i].Bindings())
            {
                var owner = $"regions[{i}].{binding.Service.YamlKey()}";
                var port = binding.Service == RegionService.Sip ? $"{owner}.{binding.Protocol.Name()}_port" : $"{owner}.port";
                sockets.Add((owner, binding.Protocol, binding.EndPoint, $"{owner}.address", port));
            }
        }

        var balancer = environment.Balancer;
        sockets.Add(("balancer", balancer.Protocol, balancer.SipEndPoint, "balancer.address", "balancer.sip_port"));

        var seen = new Dictionary<(TransportProtocol, IPEndPoint), string>();
        foreach (var (owner, protocol, endPoint, addressPath, portPath) in sockets)
        {
            if (!problems.AreReadable(addressPath, portPath))
            {
                continue;
            }

            if (seen.TryGetValue((protocol, endPoint), out var first))
            {
                problems.Add(owner, $"binds {protocol.Name()} {endPoint}, already bound by {first}; give one of them another address or port");
            }
            else
            {
                seen.Add((protocol, endPoint), owner);
            }
        }
    }

    private static void CheckLinks(EnvironmentDefinition environment, List<string>? regionNames, ProblemList problems)
    {
        if (!problems.IsReadable("links"))
        {
            return;
        }

        var known = EnvironmentException.Known(regionNames ?? []);
        var pairs = new Dictionary<(string, string), int>();
        var complete = true;
        for (var i = 0; i < environment.Links.Count; i++)
        {
            var link = environment.Links[i];
            var at = $"links[{i}]";
            var fromOk = CheckLinkEnd(problems, $"{at}.from", link.From, regionNames, known);
            var toOk = CheckLinkEnd(problems, $"{at}.to", link.To, regionNames, known);
            complete &= fromOk && toOk;
            if (fromOk && toOk)
            {
                if (string.Equals(link.From, link.To, StringComparison.Ordinal))
                {
                    problems.Add($"{at}.to", $"'{link.To}' is the same region as from; a link joins two different regions");
                }
                else
                {
                    var pair = string.CompareOrdinal(link.From, link.To) < 0 ? (link.From, link.To) : (link.To, link.From);
                    if (!pairs.TryAdd(pair, i))
                    {
                        problems.Add(at, $"joins {link.From} and {link.To} again (already links[{pairs[pair]}]); each pair of regions has one link");
                    }
                }
            }

            if (problems.IsReadable($"{at}.latency") && link.Latency < TimeSpan.Zero)
            {
                problems.Add($"{at}.latency", "must not be negative");
            }
        }

        if (!complete || regionNames is null || regionNames.Count != regionNames.Distinct(StringComparer.Ordinal).Count())
        {
            return;
        }

        for (var a = 0; a < regionNames.Count; a++)
        {
            for (var b = a + 1; b < regionNames.Count; b++)
            {
                if (!environment.Links.Any(link => link.Joins(regionNames[a], regionNames[b])))
                {
                    problems.Add("links", $"has no link between {regionNames[a]} and {regionNames[b]}; every pair of regions needs one (their traffic crosses it)");
                }
            }
        }
    }

    private static bool CheckLinkEnd(ProblemList problems, string path, string region, List<string>? regionNames, string known)
    {
        if (!problems.IsReadable(path))
        {
            return false;
        }

        if (regionNames is null || regionNames.Contains(region, StringComparer.Ordinal))
        {
            return regionNames is not null;
        }

        problems.Add(path, $"'{region}' is not a region (known: {known})");
        return false;
    }

    private static void CheckReplication(ReplicationDefinition replication, ProblemList problems)
    {
        var targetOk = Positive(problems, "replication.lag_target", replication.LagTarget);
        var alertOk = Positive(problems, "replication.lag_alert", replication.LagAlert);
        if (targetOk && alertOk && replication.LagAlert < replication.LagTarget)
        {
            problems.Add("replication.lag_alert", $"{DurationText.Format(replication.LagAlert)} must not be below lag_target {DurationText.Format(replication.LagTarget)}");
        }
    }

    private static void CheckTargets(EnvironmentDefinition environment, List<string>? regionNames, ProblemList problems)
    {
        var targets = environment.Targets;
        Positive(problems, "targets.failover", targets.Failover);
        Positive(problems, "targets.rpo", targets.Rpo);
        Positive(problems, "targets.rto", targets.Rto);

        const string split = "targets.traffic_split_after_primary_loss";
        if (problems.IsReadable(split))
        {
            var primary = regionNames is null ? null : environment.Regions.Where(region => region.IsPrimary).Select(region => region.Name).ToList();
            var allReadable = true;
            foreach (var (region, share) in targets.TrafficSplitAfterPrimaryLoss)
            {
                var at = $"{split}.{region}";
                if (!problems.IsReadable(at))
                {
                    allReadable = false;
                    continue;
                }

                if (regionNames is not null && !regionNames.Contains(region, StringComparer.Ordinal))
                {
                    problems.Add(at, $"is not a region (known: {EnvironmentException.Known(regionNames)})");
                }
                else if (primary is { Count: 1 } && string.Equals(primary[0], region, StringComparison.Ordinal))
                {
                    problems.Add(at, "is the primary; the split is over the regions left after losing it");
                }

                if (share is < 0 or > 100)
                {
                    problems.Add(at, "must be between 0 and 100");
                }
            }

            var sum = targets.TrafficSplitAfterPrimaryLoss.Values.Sum();
            if (allReadable && Math.Abs(sum - 100) > 1e-9)
            {
                problems.Add(split, string.Create(CultureInfo.InvariantCulture, $"shares sum to {sum}; they must sum to 100"));
            }
        }

        if (problems.IsReadable("targets.distribution_deviation_alert") && targets.DistributionDeviationAlertPercent is < 0 or > 100)
        {
            problems.Add("targets.distribution_deviation_alert", "must be between 0 and 100 (percent)");
        }
    }

    private static void CheckFailback(FailbackDefinition failback, ProblemList problems)
    {
        if (problems.IsReadable("failback.delay") && failback.Delay < TimeSpan.Zero)
        {
            problems.Add("failback.delay", "must not be negative");
        }

        if (problems.IsReadable("failback.health_threshold") && failback.HealthThreshold is < 0 or > 1)
        {
            problems.Add("failback.health_threshold", "must be between 0 and 1 (0.95 means 95 % healthy)");
        }
    }

    /// <summary>
    /// Checks an address is loopback (for a server in a region's container: private, and not the block's first address,
    /// which is this machine's side of the network) and inside the block (when given); true when it is usable.
    /// </summary>
    private static bool CheckAddress(ProblemList problems, string path, IPAddress address, IPNetwork? block, bool inContainer = false)
    {
        if (!problems.IsReadable(path))
        {
            return false;
        }

        if (inContainer)
        {
            if (!PrivateBlocks.Any(privateBlock => privateBlock.Contains(address)))
            {
                problems.Add(path, $"{address} is not a private address: {PrivateOnly}");
                return false;
            }

            if (block is { } containerBlock && address.Equals(RegionDefinition.HostSideOf(containerBlock)))
            {
                problems.Add(path, $"{address} is the first address of {containerBlock}, this machine's side of the region's network; give the server another");
                return false;
            }
        }
        else if (!Loopback.Contains(address))
        {
            problems.Add(path, $"{address} is outside 127.0.0.0/8: {LoopbackOnly}");
            return false;
        }

        if (block is { } region && !region.Contains(address))
        {
            problems.Add(path, $"{address} is outside the region's address_block {region}");
            return false;
        }

        return true;
    }

    private static void CheckPort(ProblemList problems, string path, int port)
    {
        if (problems.IsReadable(path) && port is < 1 or > 65535)
        {
            problems.Add(path, "must be between 1 and 65535");
        }
    }

    private static bool Positive(ProblemList problems, string path, TimeSpan value)
    {
        if (!problems.IsReadable(path))
        {
            return false;
        }

        if (value <= TimeSpan.Zero)
        {
            problems.Add(path, "must be positive");
            return false;
        }

        return true;
    }

    private static bool AtLeastOne(ProblemList problems, string path, int value)
    {
        if (!problems.IsReadable(path))
        {
            return false;
        }

        if (value < 1)
        {
            problems.Add(path, "must be 1 or more");
            return false;
        }

        return true;
    }

    private static bool Inside(IPNetwork inner, IPNetwork outer) =>
        inner.PrefixLength >= outer.PrefixLength && outer.Contains(inner.BaseAddress);

    private static bool Overlap(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    [GeneratedRegex("^[a-z][a-z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentName();
}
