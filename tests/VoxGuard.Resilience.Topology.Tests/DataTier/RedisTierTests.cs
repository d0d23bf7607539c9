using System.Net;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.Tests.Processes;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>
/// Three real Redis servers (Debian's redis-server), Lagos the master, Abuja and Asaba replicating through the
/// link server and switchboard. Blocks 127.0.71–73.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class RedisTierTests
{
    private static readonly EnvironmentDefinition Environment = RunningLinks.TinyEnvironmentInBlocks(71);

    private RunningLinks _links = null!;
    private LinkSwitchboard _switchboard = null!;
    private RunDirectory _run = null!;
    private RedisTier _redis = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _links = await RunningLinks.StartAsync(Environment);
        _switchboard = LinkSwitchboard.Start(Environment, _links.Links.Plan);
        _run = RunDirectory.Create();
        _redis = await RedisTier.StartAsync(Environment, _run);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _run.DisposeAsync();
        await _switchboard.DisposeAsync();
        await _links.DisposeAsync();
    }

    [Test]
    public async Task Replicas_follow_lagos_through_its_link_facing_address_and_see_its_writes()
    {
        var took = await _redis.WaitUntilReplicatedAsync("voxguard:probe", TimeSpan.FromSeconds(5));
        var abuja = await RespClient.InfoAsync(_redis.EndPointOf("abuja"), "replication");
        var lagos = await RespClient.InfoAsync(_redis.EndPointOf("lagos"), "replication");
        TestContext.Out.WriteLine($"write on lagos readable on both replicas after {took.TotalMilliseconds:F1} ms");

        Assert.Multiple(() =>
        {
            Assert.That(abuja["role"], Is.EqualTo("slave"));
            Assert.That(abuja["master_host"], Is.EqualTo("127.0.71.200"));
            Assert.That(abuja["master_link_status"], Is.EqualTo("up"));
            Assert.That(lagos["connected_slaves"], Is.EqualTo("2"));
            Assert.That(lagos["slave0"] + lagos["slave1"], Does.Contain("ip=127.0.72.200").And.Contain("ip=127.0.73.200"),
                "replicas announce their link-facing addresses");
            Assert.That(took.TotalMilliseconds, Is.GreaterThanOrEqualTo(15), "replication to asaba crosses a 30 ms link");
        });
    }

    [Test]
    public async Task Isolating_lagos_stops_replication_and_healing_catches_the_replicas_up()
    {
        await _links.Links.IsolateAsync("lagos");
        await RespClient.CommandAsync(_redis.EndPointOf("lagos"), CancellationToken.None, "SET", "voxguard:during-partition", "written-in-lagos");
        await Task.Delay(300);
        var seenInAbujaDuringPartition = await RespClient.CommandAsync(_redis.EndPointOf("abuja"), CancellationToken.None, "GET", "voxguard:during-partition");
        var linkDuringPartition = (await RespClient.InfoAsync(_redis.EndPointOf("abuja"), "replication"))["master_link_status"];

        await _links.Links.HealAsync("lagos");
        var caughtUp = await _redis.WaitUntilReplicatedAsync("voxguard:after-heal", TimeSpan.FromSeconds(10));
        var seenInAbujaAfterHeal = await RespClient.CommandAsync(_redis.EndPointOf("abuja"), CancellationToken.None, "GET", "voxguard:during-partition");
        TestContext.Out.WriteLine($"replicas caught up {caughtUp.TotalMilliseconds:F0} ms after healing");

        Assert.Multiple(() =>
        {
            Assert.That(seenInAbujaDuringPartition, Is.Null, "nothing crosses a cut link");
            Assert.That(linkDuringPartition, Is.EqualTo("down"));
            Assert.That(seenInAbujaAfterHeal, Is.EqualTo("written-in-lagos"), "the write made during the partition arrives after healing");
        });
    }

    [Test]
    public async Task Every_sentinel_names_lagos_as_the_master_at_its_link_facing_address()
    {
        var lagos = LinkSwitchboard.LinkFacingEndPoint(Environment.Region("lagos"), RegionService.Redis);

        foreach (var region in Environment.Regions)
        {
            Assert.That(await _redis.MasterAccordingToAsync(region.Name), Is.EqualTo(lagos), region.Name);
        }
    }

    [Test]
    public async Task Losing_lagos_redis_and_sentinel_promotes_a_replica_that_the_other_replica_follows()
    {
        var lagos = LinkSwitchboard.LinkFacingEndPoint(Environment.Region("lagos"), RegionService.Redis);
        var killed = await _redis.Processes["lagos"].KillAsync();
        await _redis.Sentinels["lagos"].KillAsync();

        IPEndPoint? promoted = null;
        await WaitStrategy.UntilAsync(
            async cancel => !(promoted = await _redis.MasterAccordingToAsync("abuja", cancel)).Equals(lagos),
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20), "abuja's Sentinel to name a new master");
        var newMaster = _redis.RegionAt(promoted!);
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                try
                {
                    await RespClient.CommandAsync(newMaster.Redis.EndPoint, cancel, "SET", "voxguard:after-failover", "ok");
                    return true;
                }
                catch (RespErrorException)
                {
                    return false; // READONLY until the promotion completes
                }
            },
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20), $"{newMaster.Name}'s Redis to accept writes");
        var writableAfter = System.Diagnostics.Stopwatch.GetElapsedTime(killed.ExitedAt);
        var follower = Environment.Replicas.Single(region => region.Name != newMaster.Name);
        await WaitStrategy.UntilAsync(
            async cancel => (string?)await RespClient.CommandAsync(follower.Redis.EndPoint, cancel, "GET", "voxguard:after-failover") == "ok",
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20), $"{follower.Name} to replicate from {newMaster.Name}");
        var followerInfo = await RespClient.InfoAsync(follower.Redis.EndPoint, "replication");
        TestContext.Out.WriteLine($"{newMaster.Name} promoted; writable {writableAfter.TotalSeconds:F2} s after lagos's redis died (down-after {RedisTier.DownAfter.TotalMilliseconds} ms)");

        Assert.Multiple(() =>
        {
            Assert.That(newMaster.Name, Is.AnyOf("abuja", "asaba"));
            Assert.That(followerInfo["master_host"], Is.EqualTo(promoted!.Address.ToString()));
            Assert.That(writableAfter, Is.LessThan(TimeSpan.FromSeconds(15)), "a failover, not a stall");
        });
    }

    [Test]
    public async Task A_switchover_promotes_only_its_target_even_when_the_sentinel_last_read_another_replica_as_preferred()
    {
        // The Sentinel picks by the replica-priority it last polled (every 10 s). Make it read Asaba as the preferred
        // replica, then switch over to Abuja: asked at once, it promoted Asaba first (a failback lost 111 writes so).
        await RespClient.CommandAsync(_redis.EndPointOf("asaba"), CancellationToken.None, "CONFIG", "SET", "replica-priority", "1");
        await RespClient.CommandAsync(_redis.EndPointOf("abuja"), CancellationToken.None, "CONFIG", "SET", "replica-priority", "100");
        var sentinel = Environment.Region("lagos").Sentinel.EndPoint;
        await WaitStrategy.UntilAsync(
            async cancel => ((object?[])(await RespClient.CommandAsync(sentinel, cancel, "SENTINEL", "REPLICAS", RedisTier.MasterName))!)
                .Cast<object?[]>()
                .Any(replica => replica.Select(field => field as string).Chunk(2).Any(pair => pair[0] == "slave-priority" && pair[1] == "1")),
            TimeSpan.FromSeconds(25), TimeSpan.FromMilliseconds(100), "the Sentinel to read Asaba's replica-priority 1", null, CancellationToken.None);

        var switchover = await _redis.FailoverToAsync("abuja");
        var selected = _redis.Sentinels["lagos"].StandardOutputTail.Where(line => line.Contains("+selected-slave", StringComparison.Ordinal)).ToList();
        var status = await _redis.StatusAsync();
        TestContext.Out.WriteLine($"{switchover}; {string.Join(" | ", selected)}");

        Assert.Multiple(() =>
        {
            Assert.That(selected, Has.Count.EqualTo(1), "one promotion, not a wrong one and a second");
            Assert.That(selected.Single(), Does.Contain("127.0.72.200"), "abuja's link-facing address");
            Assert.That(status.Select(node => node.Role), Is.EqualTo(new[] { "replica", "master", "replica" }));
        });
    }

    [Test]
    public async Task After_losing_lagos_abuja_is_made_master_lagos_rejoins_as_its_replica_and_failback_restores_lagos()
    {
        await _redis.Processes["lagos"].KillAsync();
        await _redis.Sentinels["lagos"].KillAsync();

        var failover = await _redis.FailoverToAsync("abuja");
        await RespClient.CommandAsync(_redis.EndPointOf("abuja"), CancellationToken.None, "SET", "written-on-abuja", "1");
        var whileLagosDown = await _redis.StatusAsync();

        var rejoin = await _redis.RejoinAsReplicaAsync("lagos");
        var lagosRole = await RespClient.InfoAsync(_redis.EndPointOf("lagos"), "replication");
        var failback = await _redis.FailoverToAsync("lagos");
        var afterFailback = await _redis.StatusAsync();
        var keptOnLagos = (string?)await RespClient.CommandAsync(_redis.EndPointOf("lagos"), CancellationToken.None, "GET", "written-on-abuja");
        TestContext.Out.WriteLine($"{failover}; {rejoin}; {failback}");

        Assert.Multiple(() =>
        {
            Assert.That(whileLagosDown.Select(node => node.Role), Is.EqualTo(new[] { "down", "master", "replica" }));
            Assert.That(whileLagosDown.Select(node => node.SentinelSays), Is.EqualTo(new[] { "down", "abuja", "abuja" }));
            Assert.That(lagosRole["role"], Is.EqualTo("slave"));
            Assert.That(lagosRole["master_host"], Is.EqualTo("127.0.72.200"), "lagos replicates from abuja's link-facing address");
            Assert.That(afterFailback.Select(node => node.Role), Is.EqualTo(new[] { "master", "replica", "replica" }));
            Assert.That(afterFailback.Select(node => node.SentinelSays), Is.EqualTo(new[] { "lagos", "lagos", "lagos" }), "lagos's restarted Sentinel agrees too");
            Assert.That(keptOnLagos, Is.EqualTo("1"), "what abuja acknowledged survives the failback");
        });
    }

    [Test]
    public async Task Disposing_the_run_stops_every_redis_and_frees_its_port()
    {
        var pids = _redis.Processes.Values.Concat(_redis.Sentinels.Values).Select(process => process.Pid).ToList();

        await _run.DisposeAsync();

        Assert.Multiple(() =>
        {
            foreach (var pid in pids)
            {
                Assert.That(Proc.IsRunning(pid), Is.False, $"redis {pid} still runs");
            }

            foreach (var region in Environment.Regions)
            {
                Assert.That(LinkProbe.IsListening(region.Redis.EndPoint), Is.False, $"{region.Name}'s redis port is still open");
                Assert.That(LinkProbe.IsListening(region.Sentinel.EndPoint), Is.False, $"{region.Name}'s sentinel port is still open");
            }
        });
    }
}
