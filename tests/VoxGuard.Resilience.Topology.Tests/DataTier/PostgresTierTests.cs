using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.Tests.Processes;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>
/// Three real PostgreSQL 15 nodes (Debian's postgresql-15, run as the postgres user), Lagos the primary, Abuja and
/// Asaba streaming through the link server. Blocks 127.0.81–83.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class PostgresTierTests
{
    private static readonly EnvironmentDefinition Environment = RunningLinks.TinyEnvironmentInBlocks(81);

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
    public async Task Replicas_stream_from_lagos_through_their_gateways_and_read_its_writes()
    {
        var took = await _postgres.WaitUntilReplicatedAsync("probe", TimeSpan.FromSeconds(10));
        var abujaInRecovery = await _postgres.ScalarAsync("abuja", "SELECT pg_is_in_recovery()");
        var senders = await _postgres.ScalarAsync("lagos", "SELECT string_agg(application_name || '@' || client_addr, ',' ORDER BY application_name) FROM pg_stat_replication");
        TestContext.Out.WriteLine($"row inserted on lagos readable on both replicas after {took.TotalMilliseconds:F1} ms; senders {senders}");

        Assert.Multiple(() =>
        {
            Assert.That(abujaInRecovery, Is.True);
            Assert.That(senders, Is.EqualTo("abuja@127.0.0.1/32,asaba@127.0.0.1/32"), "both standbys stream, through the link server");
            Assert.That(took.TotalMilliseconds, Is.GreaterThanOrEqualTo(15), "replication to asaba crosses a 30 ms link");
        });
    }

    [Test]
    public async Task Isolating_lagos_stops_streaming_and_healing_catches_the_replicas_up()
    {
        await _links.Links.IsolateAsync("lagos");
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_markers (id) VALUES ('during-partition')");
        await Task.Delay(300);
        var seenDuringPartition = await _postgres.HasMarkerAsync("abuja", "during-partition");

        await _links.Links.HealAsync("lagos");
        var caughtUp = await _postgres.WaitUntilReplicatedAsync("after-heal", TimeSpan.FromSeconds(15));
        var seenAfterHeal = await _postgres.HasMarkerAsync("abuja", "during-partition");
        TestContext.Out.WriteLine($"replicas caught up {caughtUp.TotalMilliseconds:F0} ms after healing");

        Assert.Multiple(() =>
        {
            Assert.That(seenDuringPartition, Is.False, "nothing crosses a cut link");
            Assert.That(seenAfterHeal, Is.True, "the row written during the partition arrives after healing");
        });
    }

    [Test]
    public async Task After_killing_lagos_and_promoting_abuja_asaba_follows_abuja_lagos_rejoins_and_failback_loses_no_write()
    {
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_markers (id) VALUES ('before-kill')");
        await _postgres.WaitUntilReplicatedAsync("before-kill-replicated", TimeSpan.FromSeconds(10));
        await _postgres.Processes["lagos"].KillAsync();

        var promotion = await _postgres.PromoteAsync("abuja");
        await _postgres.ExecuteAsync("abuja", "INSERT INTO voxguard_markers (id) VALUES ('after-promotion')");
        await _postgres.WaitUntilReplicatedAsync("after-promotion-replicated", TimeSpan.FromSeconds(10));
        var afterPromotion = await _postgres.StatusAsync();

        var rejoin = await _postgres.RejoinAsStandbyAsync("lagos");
        var lagosHasPromotionRow = await _postgres.HasMarkerAsync("lagos", "after-promotion");

        // Writes acknowledged by abuja right up to the switchover must all be on lagos afterwards.
        for (var i = 0; i < 50; i++)
        {
            await _postgres.ExecuteAsync("abuja", $"INSERT INTO voxguard_markers (id) VALUES ('acknowledged-{i}')");
        }

        var switchover = await _postgres.SwitchoverToAsync("lagos");
        var acknowledgedOnLagos = Convert.ToInt64(await _postgres.ScalarAsync("lagos", "SELECT count(*) FROM voxguard_markers WHERE id LIKE 'acknowledged-%'"));
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_markers (id) VALUES ('after-failback')");
        await _postgres.WaitUntilReplicatedAsync("after-failback-replicated", TimeSpan.FromSeconds(10));
        var afterFailback = await _postgres.StatusAsync();
        TestContext.Out.WriteLine($"{promotion}; {rejoin}; {switchover}");

        Assert.Multiple(() =>
        {
            Assert.That(afterPromotion.Single(node => node.Region == "abuja").Role, Is.EqualTo("primary"));
            Assert.That(afterPromotion.Single(node => node.Region == "lagos").Role, Is.EqualTo("down"));
            Assert.That(afterPromotion.Single(node => node.Region == "asaba").Upstream, Does.StartWith("127.0.83.101:"), "asaba streams from abuja through asaba-abuja-pg");
            Assert.That(lagosHasPromotionRow, Is.True, "lagos rejoined as abuja's standby");
            Assert.That(acknowledgedOnLagos, Is.EqualTo(50), "no write acknowledged before the switchover is lost");
            Assert.That(_postgres.PrimaryRegion, Is.EqualTo("lagos"));
            Assert.That(afterFailback.Select(node => node.Role), Is.EqualTo(new[] { "primary", "standby", "standby" }));
            Assert.That(afterFailback.Where(node => node.Role == "standby").Select(node => node.Upstream),
                Is.EqualTo(new[] { "127.0.82.100:5432 streaming", "127.0.83.100:5432 streaming" }), "both standbys stream from lagos again");
        });
    }

    [Test]
    public async Task A_standby_ahead_of_the_promoted_one_is_rewound_and_follows_it()
    {
        // Abuja's stream is held back, so asaba replays WAL that abuja, promoted after lagos dies, never has.
        await _links.Links.ShapeAsync("abuja-lagos-pg", ToxicSpec.Latency(TimeSpan.FromSeconds(10)));
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_markers (id) VALUES ('only-asaba-got-it')");
        await WaitStrategy.UntilAsync(cancel => _postgres.HasMarkerAsync("asaba", "only-asaba-got-it", cancel), TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(10), "asaba to replay the row", _postgres.Processes["asaba"]);
        await _postgres.Processes["lagos"].KillAsync();
        var mostAdvanced = await _postgres.MostAdvancedStandbyAsync();

        var promotion = await _postgres.PromoteAsync("abuja");
        var status = await _postgres.StatusAsync();
        var asabaKeptIt = await _postgres.HasMarkerAsync("asaba", "only-asaba-got-it");
        TestContext.Out.WriteLine(promotion);

        Assert.Multiple(() =>
        {
            Assert.That(mostAdvanced, Is.EqualTo("asaba"), "the standby to promote is the one holding the most WAL, not the higher priority");
            Assert.That(status.Single(node => node.Region == "asaba").Upstream, Does.StartWith("127.0.83.101:"), "asaba streams from abuja");
            Assert.That(asabaKeptIt, Is.False, "the rewind discarded what abuja never had");
        });
    }

    [Test]
    public async Task A_write_lagos_acknowledged_while_isolated_is_discarded_when_it_rejoins_after_abuja_was_promoted()
    {
        await _links.Links.IsolateAsync("lagos");
        await _postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_markers (id) VALUES ('split-brain-write')");
        await _postgres.PromoteAsync("abuja");
        var beforeRejoin = await _postgres.StatusAsync();

        await _links.Links.HealAsync("lagos");
        await _postgres.RejoinAsStandbyAsync("lagos");
        var keptOnLagos = await _postgres.HasMarkerAsync("lagos", "split-brain-write");

        Assert.Multiple(() =>
        {
            Assert.That(beforeRejoin.Count(node => node.Role == "primary"), Is.EqualTo(2), "isolated lagos and promoted abuja are both primaries");
            Assert.That(keptOnLagos, Is.False, "pg_rewind discards what the isolated primary wrote after the fork");
        });
    }

    [Test]
    public async Task Every_node_runs_as_the_postgres_user_and_disposing_the_run_stops_them_all()
    {
        var pids = _postgres.Processes.Values.Select(process => process.Pid).ToList();
        var owners = pids.Select(Proc.Uid).ToList();

        await _postgres.DisposeAsync();
        await _run.DisposeAsync();
        var leftSegments = Directory.EnumerateFiles("/dev/shm", "PostgreSQL.*").Count();
        var leftSysV = File.ReadAllLines("/proc/sysvipc/shm").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields.Length > 7 && fields[6] == "0" && fields[7] == PostgresUid());

        Assert.Multiple(() =>
        {
            Assert.That(leftSegments, Is.Zero, "no /dev/shm/PostgreSQL.* left");
            Assert.That(leftSysV, Is.Zero, "no orphaned SysV segment of postgres left");
            Assert.That(owners, Is.All.Not.EqualTo(0).And.Not.Null, "PostgreSQL refuses root; the harness runs it as postgres");
            foreach (var pid in pids)
            {
                Assert.That(Proc.IsRunning(pid), Is.False, $"postgres {pid} still runs");
            }
        });
    }

    private static string PostgresUid() =>
        File.ReadAllLines("/etc/passwd").Select(line => line.Split(':')).Single(fields => fields[0] == PostgresTier.User)[2];
}
