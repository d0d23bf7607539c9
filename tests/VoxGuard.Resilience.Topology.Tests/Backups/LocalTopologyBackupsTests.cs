using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Tests.Local;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// The whole topology with backups on (<see cref="LocalTopologyOptions.Backups"/>, ci profile): the pieces a disaster-recovery
/// scenario starts from. A region's loss takes its pgBackRest server with it, so its repository is out of reach until the
/// region is back. Blocks 127.0.171–173.x, balancer 127.0.0.171.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class LocalTopologyBackupsTests
{
    private LocalTopology _topology = null!;

    [OneTimeSetUp]
    public async Task StartAsync() =>
        _topology = await LocalTopology.StartAsync(LocalTopologyTests.EnvironmentInBlocks(171), new LocalTopologyOptions { Backups = true });

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        var runId = _topology.Run.RunId;
        await _topology.DisposeAsync();
        Assert.That(BackupTopology.ProcessesOfRun(runId), Is.Empty, "every process the topology started is gone");
    }

    [Test]
    [Order(1)]
    public async Task It_starts_archiving_and_backs_up_both_stores_into_lagos()
    {
        await _topology.Postgres.ExecuteAsync("lagos", "INSERT INTO voxguard_writes (id, region, call_id) SELECT 'row-' || n, 'lagos', 'c' FROM generate_series(1, 100) AS n");
        var postgres = await _topology.Backups!.BackupAsync(PgBackRestBackupType.Full, "repo1");
        var redis = await _topology.RedisBackups!.BackupRdbAsync("repo1");
        foreach (var step in _topology.Startup)
        {
            TestContext.Out.WriteLine($"{step.Duration.TotalMilliseconds,7:F0} ms  {step.What}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(_topology.Startup.Select(step => step.What), Has.Some.StartWith("create stanza voxguard and check archiving from lagos"));
            Assert.That(postgres.Set.Type, Is.EqualTo(PgBackRestBackupType.Full));
            Assert.That(redis.Keys, Is.GreaterThanOrEqualTo(1), "the readiness key at least");
            Assert.That(_topology.ProcessesOf("lagos").Select(process => process.Name), Does.Contain("lagos-pgbackrest-server"));
        });
    }

    [Test]
    [Order(2)]
    public async Task Losing_lagos_takes_its_repository_out_of_reach_and_a_restore_from_it_says_so()
    {
        await _topology.KillRegionAsync("lagos");

        var refused = Assert.ThrowsAsync<BackupException>(() => _topology.Backups!.RestoreAsync(
            new PostgresRestoreRequest("abuja", _topology.Run.PathOf("restored-after-loss")) { Repository = "repo1" }))!;

        Assert.Multiple(() =>
        {
            Assert.That(_topology.Backups!.Servers["lagos"].HasExited, Is.True, "the region's TLS server died with it");
            Assert.That(refused.Problem, Is.EqualTo(BackupProblem.RepositoryUnreachable));
            Assert.That(refused.Message, Does.Contain("repo1 (lagos) cannot be reached from abuja"));
        });
    }
}
