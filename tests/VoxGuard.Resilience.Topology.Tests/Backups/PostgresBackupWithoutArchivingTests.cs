using VoxGuard.Resilience.Topology.Backups;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// The guide's schedule alone: pgBackRest without continuous WAL archiving (<c>wal_archiving: false</c>): the repository
/// holds only the WAL each backup needs, so what was written after the last backup is not there to restore. Also the
/// first restore of a stanza with no backup yet. Blocks 127.0.171–173.x (after <see cref="PostgresBackupTests"/>).
/// </summary>
[TestFixture]
public sealed class PostgresBackupWithoutArchivingTests : BackupTopologyFixture
{
    private protected override Task<BackupTopology> StartAsync() =>
        BackupTopology.StartAsync(BackupTopology.EnvironmentWith("{ wal_archiving: false, archive_timeout: 1s }"));

    [Test]
    [Order(1)]
    public void A_restore_before_any_backup_says_there_is_none_yet()
    {
        var refused = Assert.ThrowsAsync<BackupException>(() =>
            Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("none"))))!;

        Assert.Multiple(() =>
        {
            Assert.That(refused.Problem, Is.EqualTo(BackupProblem.NoBackup));
            Assert.That(refused.Message, Does.StartWith("No PostgreSQL backup to restore yet: repo1 (lagos) and repo2 (abuja) hold no backup").And.Contain("BackupAsync"));
            Assert.That(Directory.Exists(Topology.Run.PathOf("restored-none-1")), Is.False, "nothing was created");
        });
    }

    [Test]
    [Order(2)]
    public async Task Rows_written_after_the_backup_are_lost_without_archiving()
    {
        await Topology.InsertAsync("in-backup", 1000);
        var full = await Topology.Backups.BackupAsync(PgBackRestBackupType.Full, "repo1");
        await Topology.InsertAsync("after-backup", 100);
        // Segments completed now are let go, as with archive_mode off: archive_timeout switches one every second.
        var switched = (string)(await Topology.Postgres.ScalarAsync("lagos", "SELECT pg_walfile_name(pg_switch_wal())"))!;
        await Task.Delay(TimeSpan.FromSeconds(2)); // two archive_timeouts: the archiver has handled the switched segment
        var info = await Topology.Backups.InfoAsync();

        var restore = await Topology.Backups.RestoreAsync(new PostgresRestoreRequest("lagos", Topology.FreshDirectory("no-archive")) { Repository = "repo1" });
        await using var restored = await RestoredPostgres.StartAsync(Topology.Environment, Topology.Run, restore, Topology.SpareEndPoint("lagos", 5432));
        var rows = await restored.CountRowsAsync(BackupTopology.Table);
        TestContext.Out.WriteLine($"full {full.Elapsed.TotalSeconds:F2} s; archive holds up to {info.Archives.Single(archive => archive.RepositoryKey == 1).Max}, segment {switched} was let go; restored {rows} rows");

        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1000), "the backup's rows, not the 100 written after it");
            Assert.That(string.CompareOrdinal(info.Archives.Single(archive => archive.RepositoryKey == 1).Max, switched), Is.LessThan(0), "the segment holding them never reached the repository");
            Assert.That(info.Archives.Single(archive => archive.RepositoryKey == 1).Max, Is.EqualTo(full.Set.ArchiveStop), "the archive ends where the backup's own WAL ends");
        });
    }
}
