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
/// 2–10 s to discover each other (docs/measured-facts.md, "Sentinel discovery and loopback source addresses").
/// </remarks>
public sealed class RedisTier
{
    /// <summary>The name the Sentinels monitor the master under.</summary>
    public const string MasterName = "voxguard";

    /// <summary>
    /// How long a silent master stays up in the Sentinels' eyes (failover in ~2.8 s with 1000 ms:
    /// docs/measured-facts.md, "Redis Sentinel failover time").
    /// </summary>
    public static readonly TimeSpan DownAfter = TimeSpan.FromMilliseconds(1000);

    /// <summary>The Sentinels' failover-timeout: also how long (twice) before a failed election is retried.</summary>
    public static readonly TimeSpan FailoverTimeoutSetting = TimeSpan.FromMilliseconds(3000);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long the Sentinels may take to agree: three of their INFO rounds. A Sentinel polls each replica's INFO every
    /// 10 s (fixed in Sentinel), so a replica still syncing at one poll shows as good only at the next: a rejoin took
    /// 1.2–9.9 s here alone, and once more than 20 s in the full suite.
    /// </summary>
    private static readonly TimeSpan SentinelAgreementTimeout = TimeSpan.FromSeconds(30);

    // A forced failover the Sentinels have not finished in this time is retried (~2.8 s after a kill:
    // docs/measured-facts.md, "Redis Sentinel failover time").
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(30);

    // A paused server accepts connections and never answers: status queries give up after this.
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(1);
    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly Dictionary<string, ManagedProcess> _processes;
    private readonly Dictionary<string, ManagedProcess> _sentinels;
    private readonly SemaphoreSlim _operations = new(1, 1);
    private (int Replicas, int MaxLagSeconds)? _writeFencing;

    private RedisTier(EnvironmentDefinition environment, RunDirectory run, Dictionary<string, ManagedProcess> processes, Dictionary<string, ManagedProcess> sentinels)
    {
        _environment = environment;
        _run = run;
        _processes = processes;
        _sentinels = sentinels;
    }

    /// <summary>The Redis process of each region, by region name (the latest one after a restart).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes => _processes;

    /// <summary>The Sentinel process of each region, by region name (the latest one after a restart).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Sentinels => _sentinels;

    /// <summary>Every program the tier runs, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return [.. environment.Regions.Select(region => SpecFor(run, region)), .. environment.Regions.Select(region => SentinelSpecFor(run, region))];
    }

    /// <summary>The spec of a region's Redis, for checking prerequisites before anything starts.</summary>
    public static ProcessSpec SpecFor(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-redis", "redis-server", "redis-server")
        {
            Arguments = [run.PathOf($"{region.Name}-redis.conf")],
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
        };

    /// <summary>The spec of a region's Sentinel (redis-server in sentinel mode; its config file must be writable).</summary>
    public static ProcessSpec SentinelSpecFor(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-sentinel", "redis-server", "redis-server")
        {
            Arguments = [run.PathOf($"{region.Name}-sentinel.conf"), "--sentinel"],
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
        };

    /// <summary>
    /// Starts every region's Redis and returns when a marker written on the primary is readable on every replica
    /// (replication verified end to end, through the links).
    /// </summary>
    public static Task<RedisTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, seedPrimary: null, cancellationToken);

    /// <summary>
    /// Starts the tier as <see cref="StartAsync(EnvironmentDefinition, RunDirectory, CancellationToken)"/> does, after
    /// <paramref name="seedPrimary"/> has put a dataset (a restored RDB or AOF) into the primary region's data directory,
    /// which the primary then loads; the replicas take it by a full sync.
    /// </summary>
    public static Task<RedisTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, Func<string, CancellationToken, Task>? seedPrimary, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, seedPrimary, new PhaseTimings(), cancellationToken);

    /// <summary>
    /// Starts the tier as <see cref="StartAsync(EnvironmentDefinition, RunDirectory, Func{string, CancellationToken, Task}?, CancellationToken)"/>
    /// does, timing each phase into <paramref name="phases"/>.
    /// </summary>
    public static async Task<RedisTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, Func<string, CancellationToken, Task>? seedPrimary, PhaseTimings phases,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(phases);
        ProcessSpec.EnsureInstalled(SpecsFor(environment, run));
        var processes = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        var step = Stopwatch.GetTimestamp();
        async Task StartRedisAsync(RegionDefinition region)
        {
            if (region.IsPrimary && seedPrimary is not null)
            {
                await seedPrimary(run.PathOf($"{region.Name}-redis"), cancellationToken).ConfigureAwait(false);
            }

            Directory.CreateDirectory(run.PathOf($"{region.Name}-redis"));
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-redis.conf"), ConfigFor(environment, run, region, environment.Primary), cancellationToken).ConfigureAwait(false);
            var process = await run.StartProcessAsync(SpecFor(run, region), cancellationToken).ConfigureAwait(false);
            lock (processes)
            {
                processes[region.Name] = process;
            }

            await process.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Redis.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        }

        // The master first: a replica that finds no master retries only at its next replication cron (a second later).
        // Then the replicas together.
        await StartRedisAsync(environment.Primary).ConfigureAwait(false);
        await Task.WhenAll(environment.Replicas.Select(StartRedisAsync)).ConfigureAwait(false);
        phases.Record("redis: every Redis listening", step);
        step = Stopwatch.GetTimestamp();
        var sentinels = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        await Task.WhenAll(environment.Regions.Select(async region =>
        {
            Directory.CreateDirectory(run.PathOf($"{region.Name}-sentinel"));
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-sentinel.conf"), SentinelConfigFor(environment, run, region), cancellationToken).ConfigureAwait(false);
            var sentinel = await run.StartProcessAsync(SentinelSpecFor(run, region), cancellationToken).ConfigureAwait(false);
            lock (sentinels)
            {
                sentinels[region.Name] = sentinel;
            }

            await sentinel.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Sentinel.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);

        phases.Record("redis: every Sentinel listening", step);
        var tier = new RedisTier(environment, run, processes, sentinels);
        await phases.TimeAsync("redis: marker replicated to every replica",
            () => tier.WaitUntilReplicatedAsync($"voxguard:ready:{run.RunId}", ReadyTimeout, cancellationToken)).ConfigureAwait(false);
        await phases.TimeAsync("redis: Sentinels agree", () => tier.WaitUntilSentinelsAgreeAsync(SentinelAgreementTimeout, cancellationToken)).ConfigureAwait(false);
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
            // With one region lost, the two surviving Sentinels sometimes split their votes; the next attempt comes
            // after twice this timeout. 10 s (our first choice) left Redis without a master for 20 s+ in one run of
            // three of the Lagos-loss scenario; 3 s retries within 6 s (docs/measured-facts.md, "Sentinel
            // failover-timeout").
            $"sentinel failover-timeout {MasterName} {(int)FailoverTimeoutSetting.TotalMilliseconds}",
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
    /// Waits until every running Sentinel could fail over now: it sees a master, has fresh INFO from every running
    /// replica (a replica it has not polled yet is no candidate: a failover right after start would abort with no good
    /// replica and retry only after twice the failover timeout) and hears from every other running Sentinel.
    /// </summary>
    public async Task WaitUntilSentinelsAgreeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var runningReplicas = _processes.Values.Count(process => !process.HasExited) - 1;
        var otherSentinels = _sentinels.Values.Count(process => !process.HasExited) - 1;
        foreach (var region in _environment.Regions.Where(region => !_sentinels[region.Name].HasExited))
        {
            var endpoint = region.Sentinel.EndPoint;
            await WaitStrategy.UntilAsync(
                async cancel =>
                {
                    var master = Fields((object?[])(await RespClient.CommandAsync(endpoint, cancel, "SENTINEL", "MASTER", MasterName).ConfigureAwait(false))!);
                    var knownReplicas = await ListAsync(endpoint, "REPLICAS", cancel).ConfigureAwait(false);
                    var knownSentinels = await ListAsync(endpoint, "SENTINELS", cancel).ConfigureAwait(false);
                    return master["flags"] == "master"
                        && knownReplicas.Count(replica => replica["flags"] == "slave" && replica.GetValueOrDefault("master-link-status") == "ok"
                            && long.TryParse(replica.GetValueOrDefault("info-refresh"), CultureInfo.InvariantCulture, out var refreshed) && refreshed < 10_000) >= runningReplicas
                        && knownSentinels.Count(sentinel => sentinel["flags"] == "sentinel"
                            && long.TryParse(sentinel.GetValueOrDefault("last-ok-ping-reply"), CultureInfo.InvariantCulture, out var ping) && ping < 2_000) >= otherSentinels;
                },
                timeout,
                TimeSpan.FromMilliseconds(50),
                $"{region.Name}'s Sentinel ({endpoint}) to have fresh INFO from {runningReplicas} replicas and replies from {otherSentinels} other Sentinels",
                _sentinels[region.Name],
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The region of the master every running Sentinel names; waits (up to <paramref name="timeout"/>, default
    /// 10 s) while they disagree, as they do in the middle of a failover.
    /// </summary>
    public async Task<RegionDefinition> MasterRegionAsync(CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        RegionDefinition? agreed = null;
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                var named = new HashSet<string>(StringComparer.Ordinal);
                foreach (var region in _environment.Regions.Where(region => !_sentinels[region.Name].HasExited && !_sentinels[region.Name].IsPaused))
                {
                    named.Add(RegionAt(await MasterAccordingToAsync(region.Name, cancel).ConfigureAwait(false)).Name);
                }

                agreed = named.Count == 1 ? _environment.Region(named.Single()) : null;
                return agreed is not null;
            },
            timeout ?? TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(20),
            "the running Sentinels to agree on one Redis master",
            null,
            cancellationToken).ConfigureAwait(false);
        return agreed!;
    }

    /// <summary>
    /// Makes <paramref name="region"/>'s Redis the master through the Sentinels (SENTINEL FAILOVER, with that
    /// replica preferred by replica-priority; repeated if an automatic failover already picked another one) and
    /// returns when every running Sentinel names it, it answers ROLE master and its running replicas read a write.
    /// </summary>
    /// <remarks>
    /// When the current master still runs (a failback) this is a switchover that loses no acknowledged write: the
    /// master's writes are paused (CLIENT PAUSE WRITE) until the target has its whole stream, and once the Sentinels
    /// have switched the former master is made a replica at once — left alone, Sentinel waits 8 s before it
    /// reconfigures an old master that still claims the role, and writes it accepts meanwhile are lost.
    /// Paused writers are then refused (READONLY) rather than acknowledged.
    /// </remarks>
    public async Task<TopologyOperation> FailoverToAsync(string region, CancellationToken cancellationToken = default)
    {
        var target = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            if (_processes[region].HasExited)
            {
                throw new InvalidOperationException($"{region}'s Redis is not running; rejoin it as a replica first.");
            }

            var running = _environment.Regions.Where(candidate => !_processes[candidate.Name].HasExited).ToList();
            foreach (var replica in running)
            {
                await RespClient.CommandAsync(replica.Redis.EndPoint, cancellationToken, "CONFIG", "SET", "replica-priority", replica.Name == region ? "1" : "100").ConfigureAwait(false);
            }

            var former = await MasterRegionAsync(cancellationToken).ConfigureAwait(false);
            if (former.Name != region)
            {
                // Before the writes pause: this waits for the Sentinel's next INFO poll (up to 10 s).
                await WaitUntilSentinelPrefersAsync(AskedSentinel(), target, cancellationToken).ConfigureAwait(false);
            }

            var formerRuns = former.Name != region && !_processes[former.Name].HasExited;
            if (formerRuns)
            {
                await RespClient.CommandAsync(former.Redis.EndPoint, cancellationToken, "CLIENT", "PAUSE", "30000", "WRITE").ConfigureAwait(false);
                var masterOffset = long.Parse((await RespClient.InfoAsync(former.Redis.EndPoint, "replication", cancellationToken).ConfigureAwait(false))["master_repl_offset"], CultureInfo.InvariantCulture);
                await WaitStrategy.UntilAsync(
                    async cancel => long.Parse((await RespClient.InfoAsync(target.Redis.EndPoint, "replication", cancel).ConfigureAwait(false))["slave_repl_offset"], CultureInfo.InvariantCulture) >= masterOffset,
                    ReadyTimeout, TimeSpan.FromMilliseconds(5), $"{region}'s Redis to receive {former.Name}'s whole replication stream", _processes[region], cancellationToken).ConfigureAwait(false);
            }

            var deadline = Stopwatch.GetTimestamp() + (long)(FailoverTimeout.TotalSeconds * Stopwatch.Frequency);
            while (!await IsAgreedMasterAsync(target, cancellationToken).ConfigureAwait(false))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"The Sentinels did not make {region}'s Redis the master within {FailoverTimeout.TotalSeconds:F0} s.");
                }

                try
                {
                    await RespClient.CommandAsync(AskedSentinel().Sentinel.EndPoint, cancellationToken, "SENTINEL", "FAILOVER", MasterName).ConfigureAwait(false);
                }
                catch (RespErrorException)
                {
                    // INPROG (a failover is running) or NOGOODSLAVE (no fresh replica yet): wait and ask again.
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }

            // Any other running node still claiming the master role (the paused former master, or a replica an
            // automatic failover had promoted first) follows the target now rather than 8 s later.
            var newMaster = LinkSwitchboard.LinkFacingEndPoint(target, RegionService.Redis);
            foreach (var stray in running.Where(candidate => candidate.Name != region))
            {
                var role = (object?[])(await RespClient.CommandAsync(stray.Redis.EndPoint, cancellationToken, "ROLE").ConfigureAwait(false))!;
                if ((string?)role[0] == "master")
                {
                    await RespClient.CommandAsync(stray.Redis.EndPoint, cancellationToken, "REPLICAOF", newMaster.Address.ToString(), newMaster.Port.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
                }
            }

            if (formerRuns)
            {
                await RespClient.CommandAsync(former.Redis.EndPoint, cancellationToken, "CLIENT", "UNPAUSE").ConfigureAwait(false);
            }

            await WaitUntilReplicatedAsync($"voxguard:failover:{region}:{started}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"make {region}'s Redis the master (Sentinel failover)", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>
    /// Fencing for a partition: every node refuses writes unless <paramref name="replicas"/> replicas acknowledged the
    /// stream within <paramref name="maxLag"/> (min-replicas-to-write / min-replicas-max-lag), so an isolated master
    /// stops accepting writes a new master will never have. Applies to nodes restarted later too.
    /// </summary>
    public async Task<TopologyOperation> RequireReplicasForWritesAsync(int replicas, TimeSpan maxLag, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        var started = Stopwatch.GetTimestamp();
        _writeFencing = (replicas, Math.Max(1, (int)Math.Ceiling(maxLag.TotalSeconds)));
        foreach (var region in _environment.Regions.Where(region => !_processes[region.Name].HasExited))
        {
            await ApplyWriteFencingAsync(region, cancellationToken).ConfigureAwait(false);
        }

        return TopologyOperation.Since($"Redis writes need {replicas} replica(s) within {_writeFencing.Value.MaxLagSeconds} s", started);
    }

    /// <summary>
    /// Makes a failed or isolated former master (or any node) a replica of the current master again: restarts it
    /// (and its region's Sentinel) if it is down, or sends it REPLICAOF if it still runs; returns when it reads a
    /// write made on the master and the Sentinels count it as a healthy replica.
    /// </summary>
    public async Task<TopologyOperation> RejoinAsReplicaAsync(string region, CancellationToken cancellationToken = default)
    {
        var node = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var master = await MasterRegionAsync(cancellationToken).ConfigureAwait(false);
            if (master.Name == region)
            {
                throw new InvalidOperationException($"{region}'s Redis is the master; fail over to another region first, then rejoin {region}.");
            }

            var masterAddress = LinkSwitchboard.LinkFacingEndPoint(master, RegionService.Redis);
            if (_processes[region].HasExited)
            {
                await File.WriteAllTextAsync(_run.PathOf($"{region}-redis.conf"), ConfigFor(_environment, _run, node, master), cancellationToken).ConfigureAwait(false);
                _processes[region] = await _run.StartProcessAsync(SpecFor(_run, node), cancellationToken).ConfigureAwait(false);
                await _processes[region].WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(node.Redis.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
                await ApplyWriteFencingAsync(node, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await RespClient.CommandAsync(node.Redis.EndPoint, cancellationToken, "REPLICAOF", masterAddress.Address.ToString(), masterAddress.Port.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }

            if (_sentinels[region].HasExited)
            {
                // Its own config file, as it rewrote it last: it learns the newer epoch from its peers.
                _sentinels[region] = await _run.StartProcessAsync(SentinelSpecFor(_run, node), cancellationToken).ConfigureAwait(false);
                await _sentinels[region].WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(node.Sentinel.EndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
            }

            await WaitUntilReplicatedAsync($"voxguard:rejoin:{region}:{started}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
            await WaitUntilSentinelsAgreeAsync(SentinelAgreementTimeout, cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"rejoin {region}'s Redis as a replica of {master.Name}", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>What each region's Redis and Sentinel are doing now: role, replication offset and lag, the master its Sentinel names.</summary>
    public async Task<IReadOnlyList<RedisNodeStatus>> StatusAsync(CancellationToken cancellationToken = default)
    {
        var nodes = new List<(RegionDefinition Region, string Role, long? Offset, string? MasterLink, string SentinelSays)>();
        foreach (var region in _environment.Regions)
        {
            var process = _processes[region.Name];
            var role = process.HasExited ? "down" : process.IsPaused ? "paused" : "unreachable";
            long? offset = null;
            string? link = null;
            if (role == "unreachable")
            {
                var info = await WithQueryTimeoutAsync(cancel => RespClient.InfoAsync(region.Redis.EndPoint, "replication", cancel), cancellationToken).ConfigureAwait(false);
                if (info is not null)
                {
                    role = info["role"] == "slave" ? "replica" : info["role"];
                    offset = long.Parse(info[role == "master" ? "master_repl_offset" : "slave_repl_offset"], CultureInfo.InvariantCulture);
                    link = info.GetValueOrDefault("master_link_status");
                }
            }

            var sentinelProcess = _sentinels[region.Name];
            var says = sentinelProcess.HasExited ? "down" : sentinelProcess.IsPaused ? "paused"
                : await WithQueryTimeoutAsync(async cancel => RegionAt(await MasterAccordingToAsync(region.Name, cancel).ConfigureAwait(false)).Name, cancellationToken).ConfigureAwait(false) ?? "unreachable";
            nodes.Add((region, role, offset, link, says));
        }

        var masterOffset = nodes.Where(node => node.Role == "master").Select(node => node.Offset).Max();
        return [.. nodes.Select(node => new RedisNodeStatus(node.Region.Name, node.Role, node.Offset,
            node.Role == "replica" && masterOffset is not null && node.Offset is not null ? Math.Max(0, masterOffset.Value - node.Offset.Value) : null,
            node.MasterLink, node.SentinelSays))];
    }

    private static async Task<T?> WithQueryTimeoutAsync<T>(Func<CancellationToken, Task<T>> query, CancellationToken cancellationToken)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(QueryTimeout);
        try
        {
            return await query(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or System.Net.Sockets.SocketException or IOException or RespErrorException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<bool> IsAgreedMasterAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        foreach (var sentinel in _environment.Regions.Where(candidate => !_sentinels[candidate.Name].HasExited))
        {
            if (RegionAt(await MasterAccordingToAsync(sentinel.Name, cancellationToken).ConfigureAwait(false)).Name != region.Name)
            {
                return false;
            }
        }

        var role = (object?[])(await RespClient.CommandAsync(region.Redis.EndPoint, cancellationToken, "ROLE").ConfigureAwait(false))!;
        return (string?)role[0] == "master";
    }

    /// <summary>The Sentinel a switchover asks (the first running one): the one whose view of the replicas decides the pick.</summary>
    private RegionDefinition AskedSentinel() => _environment.Regions.First(candidate => !_sentinels[candidate.Name].HasExited);

    /// <summary>
    /// Waits until <paramref name="sentinel"/> has read the replica priorities just set (it polls its replicas' INFO every
    /// 10 s): SENTINEL FAILOVER picks a replica by the priority the Sentinel last read, so asked earlier it can promote
    /// another one. It did once (a failback promoted Asaba, then Lagos), and the writes the wrong one acknowledged in
    /// between never reached Lagos: 111 lost in a gate drill.
    /// </summary>
    private async Task WaitUntilSentinelPrefersAsync(RegionDefinition sentinel, RegionDefinition target, CancellationToken cancellationToken)
    {
        var targetAddress = LinkSwitchboard.LinkFacingEndPoint(target, RegionService.Redis);
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                if ((await MasterAccordingToAsync(sentinel.Name, cancel).ConfigureAwait(false)).Equals(targetAddress))
                {
                    // An automatic failover (the master had died) already picked the target: nothing left to pick.
                    return true;
                }

                var priorities = (await ListAsync(sentinel.Sentinel.EndPoint, "REPLICAS", cancel).ConfigureAwait(false))
                    .Where(replica => replica.GetValueOrDefault("flags") == "slave")
                    .Select(replica => (IsTarget: replica.GetValueOrDefault("ip") == targetAddress.Address.ToString()
                            && replica.GetValueOrDefault("port") == targetAddress.Port.ToString(CultureInfo.InvariantCulture),
                        Priority: replica.GetValueOrDefault("slave-priority")))
                    .ToList();
                return priorities.Any(replica => replica.IsTarget && replica.Priority == "1")
                    && priorities.All(replica => replica.IsTarget || replica.Priority != "1");
            },
            TimeSpan.FromSeconds(25),
            TimeSpan.FromMilliseconds(100),
            $"{sentinel.Name}'s Sentinel to read {target.Name}'s replica-priority 1 (and the others' 100) before it picks a replica to promote",
            _sentinels[sentinel.Name],
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<Dictionary<string, string?>>> ListAsync(IPEndPoint sentinel, string what, CancellationToken cancellationToken)
    {
        var reply = (object?[])(await RespClient.CommandAsync(sentinel, cancellationToken, "SENTINEL", what, MasterName).ConfigureAwait(false))!;
        return [.. reply.Cast<object?[]>().Select(Fields)];
    }

    private static Dictionary<string, string?> Fields(object?[] pairs) =>
        Enumerable.Range(0, pairs.Length / 2).ToDictionary(i => (string)pairs[2 * i]!, i => pairs[(2 * i) + 1] as string, StringComparer.Ordinal);

    private async Task ApplyWriteFencingAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        if (_writeFencing is { } fencing)
        {
            await RespClient.CommandAsync(region.Redis.EndPoint, cancellationToken, "CONFIG", "SET",
                "min-replicas-to-write", fencing.Replicas.ToString(CultureInfo.InvariantCulture),
                "min-replicas-max-lag", fencing.MaxLagSeconds.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The Redis configuration of one region: its own address, its link-facing announcement, and the master it
    /// replicates from (none when it is <paramref name="master"/> itself).
    /// </summary>
    public static string ConfigFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region, RegionDefinition master)
    {
        ArgumentNullException.ThrowIfNull(master);
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
            // The environment's persistence (backups.redis): the AOF logs every write, flushed as appendfsync says.
            environment.Backups.Redis.AppendOnly ? "appendonly yes" : "appendonly no",
            $"appendfsync {environment.Backups.Redis.AppendFsync switch { RedisAppendFsync.Always => "always", RedisAppendFsync.No => "no", _ => "everysec" }}",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
            $"replica-announce-ip {announced.Address}",
            $"replica-announce-port {announced.Port}",
        };
        if (region.Name != master.Name)
        {
            var masterAddress = LinkSwitchboard.LinkFacingEndPoint(master, RegionService.Redis);
            lines.Add($"replicaof {masterAddress.Address} {masterAddress.Port}");
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The endpoint of a region's Redis, for clients inside that region.</summary>
    public IPEndPoint EndPointOf(string region) => _environment.Region(region).Redis.EndPoint;

    /// <summary>
    /// Writes <paramref name="key"/> (with a fresh value) on the master the Sentinels agree on and waits until every
    /// running replica of it reads it; returns how long that took.
    /// </summary>
    public async Task<TimeSpan> WaitUntilReplicatedAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var value = Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);
        var started = Stopwatch.GetTimestamp();
        var master = await MasterRegionAsync(cancellationToken).ConfigureAwait(false);
        await RespClient.CommandAsync(EndPointOf(master.Name), cancellationToken, "SET", key, value).ConfigureAwait(false);
        foreach (var replica in _environment.Regions.Where(region => region.Name != master.Name && !_processes[region.Name].HasExited))
        {
            var endpoint = replica.Redis.EndPoint;
            await WaitStrategy.UntilAsync(
                async cancel => (string?)await RespClient.CommandAsync(endpoint, cancel, "GET", key).ConfigureAwait(false) == value,
                timeout,
                TimeSpan.FromMilliseconds(10),
                $"{key} written on {master.Name} to be readable on {replica.Name}'s Redis ({endpoint})",
                _processes[replica.Name],
                cancellationToken).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }
}

/// <summary>One Redis node (and its region's Sentinel) as <see cref="RedisTier.StatusAsync"/> saw it.</summary>
/// <param name="Region">The node's region.</param>
/// <param name="Role">master, replica, down, paused or unreachable.</param>
/// <param name="Offset">Its replication offset (bytes of the replication stream).</param>
/// <param name="LagBytes">How many bytes a replica trails the master; null for others.</param>
/// <param name="MasterLink">A replica's link to its master: up or down.</param>
/// <param name="SentinelSays">The region whose Redis this region's Sentinel names as master (or down/paused/unreachable).</param>
public sealed record RedisNodeStatus(string Region, string Role, long? Offset, long? LagBytes, string? MasterLink, string SentinelSays);
