using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.Tests.Local;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// The guide's full system recovery with all regions down, on whole topologies (ci profile): one fills and backs up the
/// repositories, which live outside its run directory (the environment's <c>path</c>), and is disposed with all its
/// data; a second is rebuilt from them (<see cref="LocalTopologyOptions.RestoreFrom"/>). Blocks 127.0.191–193.x,
/// balancer 127.0.0.191; the repositories are removed by the fixture.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class RestoredTopologyTests
{
    private const int BackedUpRows = 1000;
    private const int ArchivedRows = 100;
    private const int Keys = 50;
    private readonly string _stores = Path.Combine(Path.GetTempPath(), $"voxguard-restore-test-{Guid.NewGuid():N}");
    private readonly List<string> _runs = [];

    [OneTimeTearDown]
    public void RemoveRepositories()
    {
        if (Directory.Exists(_stores))
        {
            Directory.Delete(_stores, recursive: true);
        }

        Assert.That(_runs.SelectMany(BackupTopology.ProcessesOfRun), Is.Empty, "every process the topologies started is gone");
    }

    /// <summary>The tiny environment in blocks 191–193 with its repositories in <paramref name="stores"/>, outside every run.</summary>
    internal static EnvironmentDefinition EnvironmentWithStores(string stores, bool walArchiving) => TinyEnvironment.Parse(
        LocalTopologyTests.YamlInBlocks(191).Replace("\nprofiles:", string.Create(CultureInfo.InvariantCulture,
            $"\nbackups: {{ wal_archiving: {(walArchiving ? "true" : "false")}, archive_timeout: 1s, repositories: [{{ name: repo1, region: lagos, path: {stores}/repo1 }}, {{ name: repo2, region: abuja, path: {stores}/repo2 }}] }}\nprofiles:"), StringComparison.Ordinal),
        "ci");

    [Test]
    [Order(1)]
    public void A_rebuild_from_an_empty_repository_says_there_is_no_backup_and_leaves_nothing_running()
    {
        var environment = EnvironmentWithStores(Path.Combine(_stores, "empty"), walArchiving: true);

        var refused = Assert.ThrowsAsync<TopologyStartException>(() => LocalTopology.StartAsync(environment, new LocalTopologyOptions { RestoreFrom = new TopologyRestore() }))!;

        Assert.That(refused.InnerException, Is.TypeOf<BackupException>().With.Property(nameof(BackupException.Problem)).EqualTo(BackupProblem.NoBackup));
        TestContext.Out.WriteLine(refused.Message);
    }

    [Test]
    [Order(2)]
    public Task A_topology_rebuilt_from_its_backups_holds_the_backed_up_and_the_archived_rows_and_the_saved_keys() =>
        BackUpLoseAndRebuildAsync(walArchiving: true, expectedRows: BackedUpRows + ArchivedRows);

    [Test]
    [Order(3)]
    public Task Without_wal_archiving_a_rebuilt_topology_holds_only_the_backed_up_rows() =>
        BackUpLoseAndRebuildAsync(walArchiving: false, expectedRows: BackedUpRows);

    private async Task BackUpLoseAndRebuildAsync(bool walArchiving, int expectedRows)
    {
        var environment = EnvironmentWithStores(Path.Combine(_stores, walArchiving ? "archiving" : "backups-only"), walArchiving);
        string lostDataDirectory;
        await using (var original = await LocalTopology.StartAsync(environment, new LocalTopologyOptions { Backups = true }))
        {
            _runs.Add(original.Run.RunId);
            await InsertAsync(original.Postgres, "backed-up", BackedUpRows);
            var master = original.Redis.EndPointOf("lagos");
            for (var n = 0; n < Keys; n++)
            {
                await RespClient.CommandAsync(master, CancellationToken.None, "SET", $"dr:key:{n}", $"value-{n}");
            }

            await original.Backups!.BackupAsync(PgBackRestBackupType.Full, "repo1");
            Assert.That(original.Backups.ConfiguredRetentionDays(), Is.EqualTo(new Dictionary<string, int> { ["repo1"] = 30, ["repo2"] = 30 }),
                "the guide's 30 days online, as the repository hosts' pgBackRest settings hold it");
            await original.RedisBackups!.BackupRdbAsync("repo1");
            await InsertAsync(original.Postgres, "archived", ArchivedRows);
            if (walArchiving)
            {
                await WaitUntilArchivedAsync(original, TimeSpan.FromSeconds(30));
            }

            lostDataDirectory = PostgresTier.DataDirectory(original.Run, environment.Primary);
        }

        Assert.That(Directory.Exists(lostDataDirectory), Is.False, "every region's data went with the first topology");
        var started = Stopwatch.GetTimestamp();
        await using var restored = await LocalTopology.StartAsync(environment, new LocalTopologyOptions { RestoreFrom = new TopologyRestore("repo1") });
        _runs.Add(restored.Run.RunId);
        var took = Stopwatch.GetElapsedTime(started);
        foreach (var step in restored.Startup)
        {
            TestContext.Out.WriteLine($"{step.Duration.TotalMilliseconds,7:F0} ms  {step.What}");
        }

        TestContext.Out.WriteLine($"restored topology verified healthy after {took.TotalSeconds:F1} s");
        var lagos = await CountAsync(restored.Postgres, "lagos");
        var asaba = await CountAsync(restored.Postgres, "asaba");
        var keys = await RespClient.CommandAsync(restored.Redis.EndPointOf("lagos"), CancellationToken.None, "DBSIZE");
        var table = await WritesTableCheck.CheckAsync(restored.Postgres.ConnectionStringOf("lagos"));
        var expectedIds = Enumerable.Range(0, BackedUpRows).Select(n => $"backed-up-{n}")
            .Concat(Enumerable.Range(0, expectedRows - BackedUpRows).Select(n => $"archived-{n}"))
            .Order(StringComparer.Ordinal);
        var replicaKey = await RespClient.CommandAsync(restored.Redis.EndPointOf("abuja"), CancellationToken.None, "GET", $"dr:key:{Keys - 1}");

        Assert.Multiple(() =>
        {
            Assert.That(lagos, Is.EqualTo(expectedRows), walArchiving ? "the backup's rows and those replayed from the archived WAL" : "the backup's rows alone");
            Assert.That(asaba, Is.EqualTo(lagos), "a replica cloned from the restored primary");
            Assert.That((table.Rows, table.DistinctIds, table.Problems), Is.EqualTo((lagos, lagos, (IReadOnlyList<string>)[])), "amcheck finds nothing wrong with the restored table");
            Assert.That(table.Checksum, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', expectedIds))))),
                "PostgreSQL's md5 of the restored ids is the md5 of exactly the ids written");
            Assert.That(Convert.ToInt64(keys, CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(Keys), "the RDB's keys (and the readiness markers)");
            Assert.That(replicaKey, Is.EqualTo($"value-{Keys - 1}"), "a Redis replica synced from the restored master");
            Assert.That(restored.Startup.Select(step => step.What), Has.Some.StartWith("restore from repo1"));
        });
    }

    private static Task InsertAsync(PostgresTier postgres, string prefix, int count) =>
        postgres.ExecuteAsync("lagos", $"INSERT INTO {BackupTopology.Table} (id, region, call_id) SELECT '{prefix}-' || n, 'lagos', 'call-' || n FROM generate_series(0, {count - 1}) AS n");

    private static async Task<long> CountAsync(PostgresTier postgres, string region) =>
        Convert.ToInt64(await postgres.ScalarAsync(region, $"SELECT count(*) FROM {BackupTopology.Table}"), CultureInfo.InvariantCulture);

    /// <summary>Switches WAL on the primary and waits until that segment is in repo1.</summary>
    private static async Task WaitUntilArchivedAsync(LocalTopology topology, TimeSpan timeout)
    {
        var segment = (string)(await topology.Postgres.ScalarAsync("lagos", "SELECT pg_walfile_name(pg_switch_wal())"))!;
        await WaitStrategy.UntilAsync(
            async cancel => (await topology.Backups!.InfoAsync(cancellationToken: cancel)).Archives.Any(archive => archive.RepositoryKey == 1 && string.CompareOrdinal(archive.Max, segment) >= 0),
            timeout,
            TimeSpan.FromMilliseconds(200),
            $"WAL segment {segment} to reach repo1");
    }
}
