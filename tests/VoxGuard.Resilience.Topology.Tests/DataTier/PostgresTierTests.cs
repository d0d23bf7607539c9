using System.Diagnostics;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.Tests.Processes;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>
/// Three real PostgreSQL 15 nodes under Patroni 3.0 with a three-member etcd (Debian's postgresql-15, patroni and
/// etcd-server), Lagos bootstrapped as the primary, Abuja and Asaba cloned and streaming through the link server; every
/// etcd and Patroni byte between regions crosses a link too. The tests kill, cut and write; every promotion, demotion
/// and rewind they observe is Patroni's own. Patroni's smallest timings (ttl 20 s, loop_wait 1 s, retry_timeout 3 s).
/// Blocks 127.0.81–83.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class PostgresTierTests
{
    private static readonly EnvironmentDefinition Environment = RunningLinks.TinyEnvironmentInBlocks(81) with
    {
        Database = new DatabaseDefinition(CommitRule.Async, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 1_048_576),
    };

    // The leader key outlives its last renewal by ttl; survivors see that at their next loop. Plus room for a busy host.
    private static readonly TimeSpan ElectionTimeout = Environment.Database.WorstFailover + TimeSpan.FromSeconds(15);

    private RunningLinks _links = null!;
    private RunDirectory _run = null!;
    private PostgresTier _postgres = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _links = await RunningLinks.StartAsync(Environment);
        _run = RunDirectory.Create();
        _postgres = await PostgresTier.StartAsync(Environment, _run);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _postgres.DisposeAsync();
        await _run.DisposeAsync();
        await _links.DisposeAsync();
    }

    [Test]
    public async Task Patroni_bootstraps_lagos_as_leader_and_the_standbys_stream_through_their_gateways()
    {
        var took = await _postgres.WaitUntilReplicatedAsync("probe", TimeSpan.FromSeconds(10));
        var senders = await _postgres.ScalarAsync("lagos", "SELECT string_agg(application_name || '@' || client_addr, ',' ORDER BY application_name) FROM pg_stat_replication");
        var status = await _postgres.StatusAsync();
        TestContext.Out.WriteLine($"row inserted on lagos readable on both standbys after {took.TotalMilliseconds:F1} ms; senders {senders}");

        Assert.Multiple(() =>
        {
            Assert.That(status.Select(node => node.Role), Is.EqualTo(new[] { "primary", "standby", "standby" }));
            Assert.That(status.Select(node => node.Patroni?.Role), Is.EqualTo(new[] { "master", "replica", "replica" }), "Patroni's own view");
            Assert.That(status.Select(node => node.Etcd), Is.All.EqualTo("healthy"));
            Assert.That(senders, Is.EqualTo("abuja@127.0.0.1/32,asaba@127.0.0.1/32"), "both standbys stream, through the link server");
            Assert.That(took.TotalMilliseconds, Is.GreaterThanOrEqualTo(15), "replication to asaba crosses a 30 ms link");
        });
    }

    [Test]
    public async Task Losing_lagos_patroni_promotes_a_survivor_by_itself_and_rejoined_lagos_follows_the_new_timeline()
    {
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_writes (id, region, call_id) VALUES ('before-loss', 'lagos', 'c1')");
        await _postgres.WaitUntilReplicatedAsync("before-loss", TimeSpan.FromSeconds(10));
        var lost = Stopwatch.GetTimestamp();
        await Task.WhenAll(_links.Links.IsolateAsync("lagos"), _postgres.KillRegionAsync("lagos"));

        // Nothing else is done: Patroni on a survivor must take the leader key and promote its node.
        var primary = await WaitForSinglePrimaryOutsideAsync("lagos");
        var failover = Stopwatch.GetElapsedTime(lost);
        var timelineAfterFailover = (await _postgres.StatusAsync()).Single(node => node.Region == primary).Patroni?.Timeline;
        await _postgres.ExecuteAsync(primary, "INSERT INTO voxguard_writes (id, region, call_id) VALUES ('after-failover', 'abuja', 'c2')");

        await _links.Links.HealAsync("lagos");
        var rejoin = await _postgres.RejoinAsync("lagos");
        var lagos = (await _postgres.StatusAsync()).Single(node => node.Region == "lagos");
        var rows = await _postgres.ScalarAsync("lagos", "SELECT string_agg(id, ',' ORDER BY id) FROM voxguard_writes");
        var switchover = await _postgres.SwitchoverToAsync("lagos");
        var primaries = await _postgres.PrimaryRegionsAsync();
        var rowsOnLagos = await _postgres.ScalarAsync("lagos", "SELECT string_agg(id, ',' ORDER BY id) FROM voxguard_writes");
        TestContext.Out.WriteLine($"Patroni promoted {primary} {failover.TotalSeconds:F1} s after the loss (timeline {timelineAfterFailover}); {rejoin}; {switchover}");

        Assert.Multiple(() =>
        {
            Assert.That(failover, Is.LessThan(ElectionTimeout));
            Assert.That(timelineAfterFailover, Is.GreaterThanOrEqualTo(2), "promotion starts a new timeline");
            Assert.That(lagos.Role, Is.EqualTo("standby"), "Patroni rewound the old primary into a standby");
            Assert.That(lagos.Patroni?.Timeline, Is.EqualTo(timelineAfterFailover), "and it follows the new timeline");
            Assert.That(rows, Is.EqualTo("after-failover,before-loss"), "the rejoined lagos reads what the new primary wrote");
            Assert.That(primaries, Is.EqualTo(new[] { "lagos" }), "Patroni's switchover makes lagos the only primary again");
            Assert.That(rowsOnLagos, Is.EqualTo("after-failover,before-loss"), "no acknowledged write lost across failover and switchover");
        });
    }

    [Test]
    public async Task An_isolated_lagos_loses_the_etcd_quorum_stops_accepting_writes_and_the_majority_elects_a_new_primary()
    {
        var isolated = Stopwatch.GetTimestamp();
        await _links.Links.IsolateAsync("lagos");

        // Patroni on lagos cannot renew the leader key without a quorum: it demotes its own node (read-only).
        await WaitStrategy.UntilAsync(async cancel => await _postgres.RoleOfAsync("lagos", cancel) == "standby" || !await AcceptsWriteAsync("lagos", cancel),
            ElectionTimeout, TimeSpan.FromMilliseconds(100), "isolated lagos to stop accepting writes");
        var fenced = Stopwatch.GetElapsedTime(isolated);
        var lagosEtcd = await _postgres.Etcd.IsHealthyAsync("lagos");
        TestContext.Out.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} lagos fenced after {Stopwatch.GetElapsedTime(isolated).TotalSeconds:F1} s");
        var primary = await WaitForSinglePrimaryOutsideAsync("lagos");
        var elected = Stopwatch.GetElapsedTime(isolated);
        TestContext.Out.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {primary} elected; abuja's Patroni: {string.Join("\n", _postgres.Processes["abuja"].StandardErrorTail.TakeLast(15))}");
        var lagosAcceptsWrites = await AcceptsWriteAsync("lagos", CancellationToken.None);

        await _links.Links.HealAsync("lagos");
        await _postgres.RejoinAsync("lagos");
        var roles = (await _postgres.StatusAsync()).ToDictionary(node => node.Region, node => node.Role);
        TestContext.Out.WriteLine($"lagos read-only {fenced.TotalSeconds:F1} s after the cut; {primary} primary after {elected.TotalSeconds:F1} s");

        Assert.Multiple(() =>
        {
            Assert.That(lagosEtcd, Is.False, "lagos's etcd member has no quorum");
            Assert.That(lagosAcceptsWrites, Is.False, "the isolated side accepts no write");
            Assert.That(primary, Is.Not.EqualTo("lagos"));
            Assert.That(roles["lagos"], Is.EqualTo("standby"), "healed, lagos follows the new primary");
            Assert.That(roles.Values.Count(role => role == "primary"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_standby_lagging_beyond_maximum_lag_on_failover_is_not_promoted()
    {
        // Asaba stops receiving WAL; lagos writes 2 MB more than it has (maximum_lag_on_failover is 1 MiB).
        await _links.Links.ShapeAsync("asaba-lagos-pg", ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "asaba-behind" });
        await _postgres.ExecuteAsync("lagos", "CREATE TABLE ballast AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 2000) g");
        var lagosLsn = (string)(await _postgres.ScalarAsync("lagos", "SELECT pg_current_wal_lsn()::text"))!;
        // The leader publishes its WAL position in etcd every loop: let it do so once more.
        await Task.Delay(Environment.Database.LoopWait * 3);

        // Lagos and Abuja lose their nodes (their etcd members stay: the quorum is there, only the candidate is not).
        await Task.WhenAll(_postgres.KillNodeAsync("lagos"), _postgres.KillNodeAsync("abuja"));
        var watched = Stopwatch.GetTimestamp();
        var promoted = false;
        while (Stopwatch.GetElapsedTime(watched) < Environment.Database.WorstFailover + TimeSpan.FromSeconds(8))
        {
            promoted |= await _postgres.RoleOfAsync("asaba") == "primary";
            await Task.Delay(250);
        }

        var asabaLsn = (string?)await _postgres.ScalarAsync("asaba", "SELECT pg_last_wal_replay_lsn()::text");
        var saidWhy = _postgres.Processes["asaba"].StandardErrorTail.Concat(_postgres.Processes["asaba"].StandardOutputTail)
            .Any(line => line.Contains("exceeds maximum replication lag", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"lagos wrote up to {lagosLsn}, asaba replayed {asabaLsn}; Patroni said why: {saidWhy}");

        Assert.Multiple(() =>
        {
            Assert.That(PostgresTier.ParseLsn(lagosLsn) - PostgresTier.ParseLsn(asabaLsn!), Is.GreaterThan(Environment.Database.MaximumLagOnFailoverBytes));
            Assert.That(promoted, Is.False, "asaba lags beyond maximum_lag_on_failover: Patroni must not promote it");
            Assert.That(saidWhy, Is.True, "Patroni logs that asaba exceeds the maximum replication lag");
        });
    }

    [Test]
    public async Task Every_node_runs_as_the_postgres_user_and_disposing_the_run_stops_them_all()
    {
        var patroni = _postgres.Processes.Values.Select(process => process.Pid).ToList();
        var pidFiles = Environment.Regions.Select(region => _run.PathOf($"{region.Name}-pg/postmaster.pid")).ToList();
        var postmasters = pidFiles.Select(pidFile => int.Parse(File.ReadLines(pidFile).First(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var etcd = _postgres.Etcd.Members.Values.Select(process => process.Pid).ToList();
        var owners = patroni.Concat(postmasters).Select(Proc.Uid).ToList();
        // This run's segments only: a lane beside this one may crash a region of its own topology at any moment,
        // leaving its postmaster's segment orphaned until its rejoin (seen in a fresh-clone suite: a Cli crash 3 s in).
        var segments = pidFiles.Select(PostgresTier.SharedMemoryIdOf).OfType<string>().ToList();

        await _postgres.DisposeAsync();
        await _run.DisposeAsync();
        var leftSysV = File.ReadAllLines("/proc/sysvipc/shm").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields.Length > 1 && segments.Contains(fields[1]));

        Assert.Multiple(() =>
        {
            Assert.That(segments, Has.Count.EqualTo(3), "each postmaster recorded its SysV segment");
            Assert.That(leftSysV, Is.Zero, "none of the run's SysV segments left");
            Assert.That(owners, Is.All.Not.EqualTo(0).And.Not.Null, "PostgreSQL refuses root; Patroni and PostgreSQL run as postgres");
            foreach (var pid in patroni.Concat(postmasters).Concat(etcd))
            {
                Assert.That(Proc.IsRunning(pid), Is.False, $"process {pid} still runs");
            }
        });
    }

    private async Task<string> WaitForSinglePrimaryOutsideAsync(string region)
    {
        string? primary = null;
        await WaitStrategy.UntilAsync(async cancel =>
            {
                var primaries = await _postgres.PrimaryRegionsAsync(cancel);
                var outside = primaries.Where(each => each != region).ToList();
                primary = outside.Count == 1 && await AcceptsWriteAsync(outside[0], cancel) ? outside[0] : null;
                return primary is not null;
            }, ElectionTimeout, TimeSpan.FromMilliseconds(100), $"Patroni to promote a node outside {region}");
        return primary!;
    }

    private async Task<bool> AcceptsWriteAsync(string region, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await _postgres.ExecuteAsync(region, $"INSERT INTO voxguard_markers (id) VALUES ('probe-{Guid.NewGuid():N}')", timeout.Token);
            return true;
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or OperationCanceledException)
        {
            return false;
        }
    }
}
