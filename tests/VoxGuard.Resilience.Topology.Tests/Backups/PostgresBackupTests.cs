using System.Diagnostics;
using VoxGuard.Resilience.Topology.Backups;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// pgBackRest 2.45 (Debian) over the Patroni cluster with continuous WAL archiving, against the real tools: full and
/// incremental backups into repo1 (Lagos) and repo2 (Abuja, every byte through the links), restores into fresh
/// PostgreSQL servers whose rows are counted, and the errors a restore must give. One cluster for the whole fixture;
/// blocks 127.0.171–173.x.
/// </summary>
[TestFixture]
public sealed class PostgresBackupTests : BackupTopologyFixture
{
    private protected override async Task<BackupTopology> StartAsync()
    {
        var topology = await BackupTopology.StartAsync(BackupTopology.EnvironmentWith("{ wal_archiving: true, archive_timeout: 1s }"));
        TestContext.Progress.WriteLine($"links, TLS servers, Patroni cluster, stanza and archive check ready in {topology.StartedIn.TotalSeconds:F1} s");
        return topology;
    }

    [Test]
    [Order(1)]
    public async Task A_full_then_an_incremental_backup_restore_every_row_and_the_archived_rows_written_after_them()
    {
        await Topology.InsertAsync("before-full", 1000);
        var full = await Topology.Backups.BackupAsync(PgBackRestBackupType.Full, "repo1");
        await Topology.InsertAsync("before-incr", 500);
        var incremental = await Topology.Backups.BackupAsync(PgBackRestBackupType.Incremental, "repo1");
        await Topology.InsertAsync("after-backups", 100);
        await Topology.WaitUntilArchivedAsync(TimeSpan.FromSeconds(30));

        var restore = await Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("repo1")) { Repository = "repo1" });
        await using var restored = await RestoredPostgres.StartAsync(Topology.Environment, Topology.Run, restore, Topology.SpareEndPoint("lagos", 5432));
        var rows = await restored.CountRowsAsync(BackupTopology.Table);
        var afterBackups = (long)(await restored.ScalarAsync($"SELECT count(*) FROM {BackupTopology.Table} WHERE id LIKE 'after-backups-%'"))!;
        TestContext.Out.WriteLine($"full {full.Elapsed.TotalSeconds:F2} s ({full.Set.RepositorySize / 1024} KiB), incremental {incremental.Elapsed.TotalSeconds:F2} s "
            + $"(+{incremental.Set.RepositoryDelta / 1024} KiB), restore {restore.Elapsed.TotalSeconds:F2} s, replay to promotion {restored.RecoveryTime.TotalSeconds:F2} s");

        Assert.Multiple(() =>
        {
            Assert.That(full.Set.Type, Is.EqualTo(PgBackRestBackupType.Full));
            Assert.That(incremental.Set.Type, Is.EqualTo(PgBackRestBackupType.Incremental));
            Assert.That(incremental.Set.Prior, Is.EqualTo(full.Set.Label), "the incremental builds on the full");
            Assert.That(incremental.Set.RepositoryDelta, Is.LessThan(full.Set.RepositorySize), "an incremental stores only what changed");
            Assert.That(restore.Set, Is.EqualTo(incremental.Set.Label), "the latest backup is restored");
            Assert.That(rows, Is.EqualTo(1600), "1000 + 500 rows from the backups, 100 from the archived WAL after them");
            Assert.That(afterBackups, Is.EqualTo(100));
        });
    }

    [Test]
    [Order(2)]
    public async Task A_backup_into_abuja_reads_the_primary_through_the_link_and_restores_in_abuja_from_repo2()
    {
        await Topology.Links.Client.DisableProxyAsync("abuja-lagos-pgbackrest");
        BackupException cut;
        try
        {
            cut = Assert.ThrowsAsync<BackupException>(() => Topology.Backups.BackupAsync(PgBackRestBackupType.Full, "repo2"))!;
        }
        finally
        {
            await Topology.Links.Client.EnableProxyAsync("abuja-lagos-pgbackrest");
        }

        var backup = await Topology.Backups.BackupAsync(PgBackRestBackupType.Full, "repo2");
        var info = await Topology.Backups.InfoAsync();
        var restore = await Topology.Backups.RestoreAsync(new PostgresRestoreRequest("abuja", Topology.FreshDirectory("repo2")) { Repository = "repo2" });
        await using var restored = await RestoredPostgres.StartAsync(Topology.Environment, Topology.Run, restore, Topology.SpareEndPoint("abuja", 5432));
        var rows = await restored.CountRowsAsync(BackupTopology.Table);
        TestContext.Out.WriteLine(cut.Message);
        TestContext.Out.WriteLine($"repo2 full through abuja-lagos-pgbackrest {backup.Elapsed.TotalSeconds:F2} s; restore in abuja {restore.Elapsed.TotalSeconds:F2} s; replay {restored.RecoveryTime.TotalSeconds:F2} s");

        Assert.Multiple(() =>
        {
            Assert.That(cut.Problem, Is.EqualTo(BackupProblem.PrimaryUnreachable), "with the link cut, abuja cannot read lagos's primary");
            Assert.That(cut.Message, Does.Contain("from abuja").And.Contain("link abuja-lagos-pgbackrest"));
            Assert.That(backup.Set.RepositoryKey, Is.EqualTo(2));
            Assert.That(info.BackupsIn(2), Has.Count.EqualTo(1));
            Assert.That(info.Repositories.Select(repository => repository.Code), Is.All.EqualTo(0), "both repositories answer");
            Assert.That(rows, Is.GreaterThanOrEqualTo(1600));
        });
    }

    [Test]
    [Order(3)]
    public async Task A_point_in_time_restore_keeps_what_was_committed_before_the_time_and_nothing_after()
    {
        await Topology.InsertAsync("before-target", 10);
        var target = (DateTime)(await Topology.Postgres.ScalarAsync("lagos", "SELECT clock_timestamp()"))!;
        await Task.Delay(50);
        await Topology.InsertAsync("after-target", 10);
        await Topology.WaitUntilArchivedAsync(TimeSpan.FromSeconds(30));

        var restore = await Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("pitr"))
        {
            Repository = "repo1",
            Target = RecoveryTarget.At(new DateTimeOffset(DateTime.SpecifyKind(target, DateTimeKind.Utc))),
        });
        await using var restored = await RestoredPostgres.StartAsync(Topology.Environment, Topology.Run, restore, Topology.SpareEndPoint("lagos", 5432));
        var before = (long)(await restored.ScalarAsync($"SELECT count(*) FROM {BackupTopology.Table} WHERE id LIKE 'before-target-%'"))!;
        var after = (long)(await restored.ScalarAsync($"SELECT count(*) FROM {BackupTopology.Table} WHERE id LIKE 'after-target-%'"))!;
        TestContext.Out.WriteLine($"restored to {restore.Target}: {before} rows before it, {after} after; restore {restore.Elapsed.TotalSeconds:F2} s, replay {restored.RecoveryTime.TotalSeconds:F2} s");

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo(10));
            Assert.That(after, Is.Zero, "committed after the target time");
        });
    }

    [Test]
    [Order(4)]
    public async Task A_restore_never_writes_into_a_running_nodes_data_directory()
    {
        var lagosData = Topology.Run.PathOf("lagos-pg");

        var refused = Assert.ThrowsAsync<BackupException>(() => Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", lagosData)))!;
        var inside = Assert.ThrowsAsync<BackupException>(() => Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Path.Combine(lagosData, "restored"))))!;

        Assert.Multiple(() =>
        {
            Assert.That(refused.Problem, Is.EqualTo(BackupProblem.TargetInUse));
            Assert.That(refused.Message, Does.Contain("data directory of a running PostgreSQL").And.Contain("fresh directory"));
            Assert.That(inside.Problem, Is.EqualTo(BackupProblem.TargetInUse));
            Assert.That(inside.Message, Does.Contain($"it is inside {lagosData}, the data directory of a running PostgreSQL"));
            Assert.That(Directory.Exists(Path.Combine(lagosData, "restored")), Is.False, "nothing was written there");
        });
    }

    [Test]
    [Order(5)]
    public async Task A_repository_whose_server_is_down_is_named_at_once()
    {
        await Topology.Backups.Servers["abuja"].KillAsync();
        try
        {
            var started = Stopwatch.GetTimestamp();
            var refused = Assert.ThrowsAsync<BackupException>(() =>
                Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("unreachable")) { Repository = "repo2" }))!;
            var took = Stopwatch.GetElapsedTime(started);
            TestContext.Out.WriteLine(refused.Message);

            Assert.Multiple(() =>
            {
                Assert.That(refused.Problem, Is.EqualTo(BackupProblem.RepositoryUnreachable));
                Assert.That(refused.Message, Does.Contain("repo2 (abuja)").And.Contain("lagos-abuja-pgbackrest").And.Contain("RestartServerAsync"));
                Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(3)), "named at once, not after pgBackRest's retries");
            });
        }
        finally
        {
            await Topology.Backups.RestartServerAsync("abuja");
        }
    }

    [Test]
    [Order(6)]
    public async Task A_flipped_byte_in_a_backup_is_refused_by_the_restore_and_found_by_verify()
    {
        var info = await Topology.Backups.InfoAsync();
        var latest = info.LatestIn(1)!;
        var relation = (string)(await Topology.Postgres.ScalarAsync("lagos", $"SELECT pg_relation_filepath('{BackupTopology.Table}')"))!;
        var file = Directory.EnumerateFiles(Path.Combine(Topology.Backups.StoreOf("repo1"), "pgbackrest", "backup", PostgresBackups.Stanza, latest.Label, "pg_data"),
            Path.GetFileName(relation) + ".*", SearchOption.AllDirectories).First(path => path.Contains(relation, StringComparison.Ordinal));
        var original = await File.ReadAllBytesAsync(file);
        var damaged = (byte[])original.Clone();
        damaged[damaged.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(file, damaged);
        try
        {
            var verification = await Topology.Backups.VerifyAsync("repo1");
            var refused = Assert.ThrowsAsync<BackupException>(() =>
                Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("corrupt")) { Repository = "repo1" }))!;
            TestContext.Out.WriteLine(refused.Message);
            TestContext.Out.WriteLine(string.Join('\n', verification.Report));

            Assert.Multiple(() =>
            {
                Assert.That(refused.Problem, Is.EqualTo(BackupProblem.Corrupted));
                Assert.That(refused.Message, Does.Contain("corrupted").And.Contain("checksum").And.Contain("VerifyAsync"));
                Assert.That(verification.IsValid, Is.False);
                Assert.That(verification.InvalidBackups, Does.Contain(latest.Label));
            });
        }
        finally
        {
            await File.WriteAllBytesAsync(file, original);
        }

        var again = await Topology.Backups.VerifyAsync("repo1");
        Assert.That(again.IsValid, Is.True, $"the byte put back, the repository verifies again: {string.Join(" / ", again.Report)}");
    }
}
