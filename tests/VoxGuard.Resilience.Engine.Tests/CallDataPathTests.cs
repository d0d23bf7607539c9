using System.Net;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>
/// The data path against real PostgreSQL and Redis + Sentinels behind the links: every write acknowledged is in the
/// store, cross-region writes cross a link, and after the primaries move the engine follows them.
/// Blocks 127.0.151–153.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class CallDataPathTests
{
    private static readonly EnvironmentDefinition Environment = TestPaths.LocalInBlocks(151);

    private LinkServer _server = null!;
    private LinkClient _client = null!;
    private InterRegionLinks _links = null!;
    private LinkSwitchboard _switchboard = null!;
    private RunDirectory _run = null!;
    private PostgresTier _postgres = null!;
    private RedisTier _redis = null!;
    private string _logDirectory = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _server = new LinkServer(new LinkServerOptions { ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await _server.StartAsync();
        _client = new LinkClient(_server.ApiAddress);
        _links = new InterRegionLinks(_client, Environment);
        await _links.ApplyAsync();
        _switchboard = LinkSwitchboard.Start(Environment, _links.Plan);
        _run = RunDirectory.Create();
        _postgres = await PostgresTier.StartAsync(Environment, _run);
        _redis = await RedisTier.StartAsync(Environment, _run);
        _logDirectory = Directory.CreateTempSubdirectory("voxguard-engine-").FullName;
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _postgres.DisposeAsync();
        await _run.DisposeAsync();
        await _switchboard.DisposeAsync();
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_logDirectory, recursive: true);
    }

    [Test]
    public async Task Every_region_writes_to_the_lagos_primaries_and_every_acknowledged_write_is_there()
    {
        var results = new List<DataPathResult>();
        foreach (var region in Environment.Regions)
        {
            using var path = new CallDataPath(Environment, region.Name, LogOf(region.Name));
            for (var call = 0; call < 20; call++)
            {
                results.Add(await path.RecordCallAsync($"call-{region.Name}-{call}"));
            }
        }

        var acknowledged = Environment.Regions.SelectMany(region => WriteLog.Read(LogOf(region.Name))).Where(entry => entry.Outcome == WriteOutcome.Acknowledged).ToList();
        var rows = Convert.ToInt64(await _postgres.ScalarAsync("lagos", "SELECT count(*) FROM voxguard_writes"));
        var keys = 0;
        foreach (var write in acknowledged.Where(entry => entry.Store == WriteStore.Redis))
        {
            keys += await RespClient.CommandAsync(_redis.EndPointOf("lagos"), CancellationToken.None, "EXISTS", RedisWriter.KeyPrefix + write.Id) is 1L ? 1 : 0;
        }

        Assert.Multiple(() =>
        {
            Assert.That(results, Has.All.Matches<DataPathResult>(result => result.Succeeded));
            Assert.That(acknowledged.Count(entry => entry.Store == WriteStore.Postgres), Is.EqualTo(60));
            Assert.That(acknowledged.Select(entry => entry.Target), Is.All.EqualTo("lagos"));
            Assert.That(rows, Is.EqualTo(60));
            Assert.That(keys, Is.EqualTo(60));
        });
    }

    [Test]
    public async Task Writes_from_an_isolated_region_to_another_regions_primary_fail_because_they_cross_a_link()
    {
        using var asaba = new CallDataPath(Environment, "asaba", LogOf("asaba"));
        using var lagos = new CallDataPath(Environment, "lagos", LogOf("lagos"));
        await _links.IsolateAsync("asaba");

        var cutOff = await asaba.RecordCallAsync("from-isolated-asaba");
        var local = await lagos.RecordCallAsync("from-lagos");

        Assert.Multiple(() =>
        {
            Assert.That(cutOff.Postgres, Is.False);
            Assert.That(cutOff.Redis, Is.False);
            Assert.That(cutOff.Failure, Is.EqualTo("postgres and redis write not acknowledged"));
            Assert.That(local.Succeeded, Is.True, "lagos writes to its own primaries without a link");
        });
    }

    [Test]
    public async Task After_lagos_is_lost_the_asaba_engine_finds_the_primaries_patroni_and_sentinel_elected()
    {
        using var path = new CallDataPath(Environment, "asaba", LogOf("asaba"));
        var before = await path.RecordCallAsync("before");
        await Task.WhenAll(_links.IsolateAsync("lagos"), _postgres.KillRegionAsync("lagos"), _redis.Processes["lagos"].KillAsync(), _redis.Sentinels["lagos"].KillAsync());

        // Nothing promotes anything here: calls fail until Patroni and Sentinel have elected, then the engine follows.
        var deadline = DateTime.UtcNow + Environment.Database.WorstFailover + TimeSpan.FromSeconds(20);
        DataPathResult? recovered = null;
        var attempt = 0;
        while (recovered is not { Succeeded: true } && DateTime.UtcNow < deadline)
        {
            recovered = await path.RecordCallAsync($"after-loss-{attempt++}");
            if (!recovered.Succeeded)
            {
                await Task.Delay(500);
            }
        }

        var after = await path.RecordCallAsync("after-recovery");
        var pgPrimary = await _postgres.PrimaryRegionAsync();
        var redisMaster = (await _redis.MasterRegionAsync()).Name;
        var log = WriteLog.Read(LogOf("asaba"));

        Assert.Multiple(() =>
        {
            Assert.That(before.Succeeded, Is.True);
            Assert.That(recovered?.Succeeded, Is.True, "the engine writes again once the stores have failed over by themselves");
            Assert.That(after.Succeeded, Is.True);
            Assert.That(pgPrimary, Is.Not.EqualTo("lagos"));
            Assert.That(path.Postgres.Primary.Name, Is.EqualTo(pgPrimary), "the engine writes to the node Patroni promoted");
            Assert.That(path.Redis.Master.Name, Is.EqualTo(redisMaster), "and to the master Sentinel elected");
            Assert.That(log.Where(entry => entry.Outcome == WriteOutcome.Acknowledged).TakeLast(2).Select(entry => entry.Target),
                Is.EquivalentTo(new[] { pgPrimary, redisMaster }), "the last call's two writes, acknowledged by the new primaries");
        });
    }

    [Test]
    public async Task An_engine_started_after_the_primaries_moved_writes_to_them_from_its_first_call()
    {
        // The operators' switchover and Sentinel failover, before the engine exists: Lagos is a replica of both now.
        await _postgres.SwitchoverToAsync("abuja");
        await _redis.FailoverToAsync("abuja");

        using var path = new CallDataPath(Environment, "asaba", LogOf("asaba"));
        var first = await path.RecordCallAsync("first");
        var log = WriteLog.Read(LogOf("asaba"));

        Assert.Multiple(() =>
        {
            Assert.That(first.Succeeded, Is.True);
            Assert.That(log.Where(entry => entry.Outcome == WriteOutcome.Attempted).Select(entry => (entry.Store, entry.Target)),
                Is.EquivalentTo(new[] { (WriteStore.Postgres, "abuja"), (WriteStore.Redis, "abuja") }),
                "its first writes go where Patroni and Sentinel say the primaries are, not to Lagos where the environment began");
            Assert.That(log.Where(entry => entry.Outcome == WriteOutcome.Failed), Is.Empty, "no write was refused first by the old primaries");
        });
    }

    private string LogOf(string region) => Path.Combine(_logDirectory, $"{region}-writes.tsv");
}
