using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// Redis backups against real redis-server 7.0: the guide's BGSAVE / LASTSAVE / copy procedure into repo1 (Lagos's node)
/// and repo2 (Abuja's replica, fed through the links), the AOF (appendonly yes, everysec) copied with rewrites paused,
/// restores into fresh servers whose keys are counted, and the errors. Blocks 127.0.171–173.x.
/// </summary>
[TestFixture]
public sealed class RedisBackupTests : BackupTopologyFixture
{
    private RedisBackups _backups = null!;

    private protected override async Task<BackupTopology> StartAsync()
    {
        var topology = await BackupTopology.StartAsync(
            BackupTopology.EnvironmentWith("{ redis: { appendonly: true, appendfsync: everysec } }"), withPostgres: false, withRedis: true);
        _backups = new RedisBackups(topology.Environment, topology.Run);
        return topology;
    }

    [Test]
    [Order(1)]
    public void Asking_for_a_backup_before_any_was_taken_says_there_is_none_yet()
    {
        var refused = Assert.Throws<BackupException>(() => _backups.Latest("repo1"))!;

        Assert.Multiple(() =>
        {
            Assert.That(refused.Problem, Is.EqualTo(BackupProblem.NoBackup));
            Assert.That(refused.Message, Does.StartWith("No Redis backup to restore yet: repo1 (lagos) holds none").And.Contain("BackupRdbAsync"));
        });
    }

    [Test]
    [Order(2)]
    public async Task An_rdb_backup_restores_every_key_it_held_and_none_written_after_it()
    {
        await WriteKeysAsync("before", 500);
        var backup = await _backups.BackupRdbAsync("repo1");
        await WriteKeysAsync("after", 50);

        await using var restored = await _backups.RestoreAsync(_backups.Latest("repo1", RedisBackupKind.Rdb), "lagos", Topology.SpareEndPoint("lagos", 6379));
        var keys = await restored.KeyCountAsync();
        TestContext.Out.WriteLine($"BGSAVE + copy {backup.Elapsed.TotalMilliseconds:F0} ms ({backup.Bytes} bytes, {backup.Keys} keys); load {restored.LoadTime.TotalMilliseconds:F0} ms");

        Assert.Multiple(() =>
        {
            Assert.That(backup.Kind, Is.EqualTo(RedisBackupKind.Rdb));
            Assert.That(keys, Is.EqualTo(backup.Keys), "DBSIZE when the snapshot was taken");
            Assert.That(keys, Is.GreaterThanOrEqualTo(500));
        });
        Assert.That(await restored.GetAsync("voxguard:backup:before:499"), Is.EqualTo("v499"));
        Assert.That(await restored.GetAsync("voxguard:backup:after:0"), Is.Null, "written after the snapshot");
    }

    [Test]
    [Order(3)]
    public async Task Abujas_store_gets_its_copy_from_abujas_replica_and_restores_in_abuja()
    {
        await Topology.Redis!.WaitUntilReplicatedAsync("voxguard:backup:marker", TimeSpan.FromSeconds(10));
        var backup = await _backups.BackupRdbAsync("repo2");

        await using var restored = await _backups.RestoreAsync(backup, "abuja", Topology.SpareEndPoint("abuja", 6379));
        var keys = await restored.KeyCountAsync();
        var replicated = await restored.GetAsync("voxguard:backup:after:49");

        Assert.Multiple(() =>
        {
            Assert.That(backup.Region, Is.EqualTo("abuja"));
            Assert.That(keys, Is.EqualTo(backup.Keys));
            Assert.That(replicated, Is.EqualTo("v49"), "the master's writes reached abuja by replication");
        });
    }

    [Test]
    [Order(4)]
    public async Task An_aof_backup_restores_every_key()
    {
        await WriteKeysAsync("aof", 200);
        var backup = await _backups.BackupAofAsync("repo1");

        await using var restored = await _backups.RestoreAsync(backup, "lagos", Topology.SpareEndPoint("lagos", 6379, 1));
        var keys = await restored.KeyCountAsync();
        TestContext.Out.WriteLine($"AOF copy {backup.Elapsed.TotalMilliseconds:F0} ms ({backup.Bytes} bytes); load {restored.LoadTime.TotalMilliseconds:F0} ms");

        var last = await restored.GetAsync("voxguard:backup:aof:199");

        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.EqualTo(backup.Keys));
            Assert.That(last, Is.EqualTo("v199"));
        });
    }

    [Test]
    [Order(5)]
    public async Task A_truncated_rdb_is_refused_before_any_server_starts()
    {
        var backup = await _backups.BackupRdbAsync("repo1");
        var file = Path.Combine(backup.Path, "dump.rdb");
        var content = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, content[..(content.Length / 2)]);

        var refused = Assert.ThrowsAsync<BackupException>(() => _backups.RestoreAsync(backup, "lagos", Topology.SpareEndPoint("lagos", 6379, 2)))!;
        TestContext.Out.WriteLine(refused.Message);

        Assert.Multiple(() =>
        {
            Assert.That(refused.Problem, Is.EqualTo(BackupProblem.Corrupted));
            Assert.That(refused.Message, Does.Contain("is corrupted: redis-check-rdb refused").And.Contain("older backup"));
        });
    }

    private async Task WriteKeysAsync(string prefix, int count)
    {
        await using var connection = await RespConnection.OpenAsync(Topology.Environment.Region("lagos").Redis.EndPoint, CancellationToken.None);
        for (var i = 0; i < count; i++)
        {
            await connection.CommandAsync(CancellationToken.None, "SET", $"voxguard:backup:{prefix}:{i}", $"v{i}");
        }
    }
}
