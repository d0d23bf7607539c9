using System.Diagnostics;
using System.Net;
using Npgsql;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>
/// <c>backup</c> and <c>restore</c> from another shell on the topology <c>up</c> serves (ci profile, SIPp engines, the
/// environment's backups on), as a game-day operator runs them. One topology for the fixture, environments/local.yaml
/// moved to blocks 127.0.201–203.x (balancer 127.0.0.201) and the tests' own run root. The tests run in order: each
/// leaves the topology as the next expects it, the last stops it.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class BackupCommandTests
{
    private const string LagosPrimary = "Host=127.0.201.4;Port=5432;Username=postgres;Database=postgres;Pooling=false;Timeout=5";
    private const string RestoredPostgres = "Host=127.0.201.50;Port=5432;Username=postgres;Database=postgres;Pooling=false;Timeout=5";
    private const string IdsChecksum = "SELECT count(*) || ' rows (' || count(DISTINCT id) || ' distinct ids), md5 of the ids ' || coalesce(md5(string_agg(id, E'\\n' ORDER BY id COLLATE \"C\")), md5('')) FROM voxguard_writes";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly IPEndPoint RestoredPostgresEndPoint = new(IPAddress.Parse("127.0.201.50"), 5432);
    private static readonly IPEndPoint RestoredRedisEndPoint = new(IPAddress.Parse("127.0.201.50"), 6379);
    private string _environmentFile = null!;
    private CliProcess _up = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _environmentFile = EnvironmentFile.WriteInBlocks(201, 201, backups: true);
        _up = await CliProcess.StartUpAsync(_environmentFile, StartTimeout, "--engine", "sipp");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await CliProcess.DownAsync(_up);
        File.Delete(_environmentFile);
    }

    [Test]
    [Order(1)]
    public async Task Up_says_where_the_repositories_live_and_a_restore_before_any_backup_is_refused()
    {
        var restore = await CliProcess.RunAsync("restore");

        Assert.Multiple(() =>
        {
            Assert.That(_up.Output, Does.Match(@"Backups: repositories repo1 \(lagos\): /\S+/backups/repo1; repo2 \(abuja\): /\S+/backups/repo2 \(inside the run directory"));
            Assert.That(restore.ExitCode, Is.EqualTo(2));
            Assert.That(restore.Error.Trim(), Is.EqualTo(
                "Nothing to restore yet: repo1 (lagos) holds no PostgreSQL backup and no Redis backup. Nothing was restored. Take a backup first: ./resilience backup --repo repo1."));
            Assert.That(restore.Output, Is.Empty);
            Assert.That(Loopback.IsListening(RestoredPostgresEndPoint), Is.False, "nothing started");
        });
    }

    [TestCase(new[] { "backup", "--store", "mysql" }, "Invalid backup request: unknown store 'mysql' (known: postgres, redis, all). Nothing was done.")]
    [TestCase(new[] { "backup", "--type", "weekly" }, "Invalid backup request: unknown backup type 'weekly' (known: full, incr, diff). Nothing was done.")]
    [TestCase(new[] { "restore", "--target-time", "yesterday noon" }, "Invalid restore request: target time 'yesterday noon' is not an ISO 8601 time")]
    [TestCase(new[] { "backup", "--repo", "repo9" }, "Unknown repository 'repo9': the local topology has repo1 (lagos), repo2 (abuja). Nothing was backed up.")]
    [Order(2)]
    public async Task Bad_input_is_refused_with_one_message(string[] arguments, string error)
    {
        var result = await CliProcess.RunAsync(arguments);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Error.Trim(), Does.StartWith(error).And.Not.Contain("\n"));
        });
    }

    [Test]
    [Order(3)]
    public async Task A_backup_restored_beside_the_topology_counts_the_rows_and_their_checksum()
    {
        await ExecuteAsync(LagosPrimary, "INSERT INTO voxguard_writes (id, region, call_id) SELECT 'gameday-' || n, 'lagos', 'c' FROM generate_series(1, 300) AS n");
        var expected = await ScalarAsync(LagosPrimary, IdsChecksum);

        var started = Stopwatch.GetTimestamp();
        var backup = await CliProcess.RunAsync("backup");
        var backupTime = Stopwatch.GetElapsedTime(started);
        var restore = await CliProcess.RunAsync("restore");
        var restoreTime = Stopwatch.GetElapsedTime(started) - backupTime;
        TestContext.Out.WriteLine($"backup {backupTime.TotalSeconds:F1} s:\n{backup.Output}restore {restoreTime.TotalSeconds:F1} s:\n{restore.Output}");
        var restored = restore.ExitCode == 0 ? await ScalarAsync(RestoredPostgres, IdsChecksum) : null;

        Assert.Multiple(() =>
        {
            Assert.That(backup.ExitCode, Is.Zero, backup.Error);
            Assert.That(backup.Output, Does.StartWith("backup all full into repo1: done and verified."));
            Assert.That(backup.Output, Does.Match(@"ms  PostgreSQL full backup \d{8}-\d{6}F into repo1 \(lagos, /\S+/backups/repo1\): [\d.]+ MB of data, [\d.]+ [kM]?B stored"));
            Assert.That(backup.Output, Does.Match(@"ms  Redis RDB backup \S+-rdb into repo1 \(lagos, \S+\): \d+ keys"));
            Assert.That(restore.ExitCode, Is.Zero, restore.Error);
            Assert.That(restore.Output, Does.Contain($"integrity: voxguard_writes {expected}, amcheck clean"));
            Assert.That(restore.Output, Does.Contain("integrity: pgBackRest verify of repo1: every backup file and archived WAL segment matches its checksum"));
            Assert.That(restore.Output, Does.Contain("restored PostgreSQL at 127.0.201.50:5432 replayed to the end of the archived WAL and promoted"));
            Assert.That(restore.Output, Does.Match(@"loaded at 127\.0\.201\.50:6379: \d+ keys, as many as backed up"));
            Assert.That(restore.Output, Does.Contain("note: restored copy 1 serves PostgreSQL 127.0.201.50:5432"));
            Assert.That(restored, Is.EqualTo(expected), "the restored copy answers on its own address");
            Assert.That(Loopback.IsListening(RestoredRedisEndPoint), Is.True);
        });
    }

    [Test]
    [Order(4)]
    public async Task After_losing_lagos_its_repository_is_named_out_of_reach_and_repo2_suggested()
    {
        var kill = await CliProcess.RunAsync("fault", "kill", "lagos");
        var backup = await CliProcess.RunAsync("backup", "--repo", "repo1");
        var restore = await CliProcess.RunAsync("restore", "--repo", "repo1");

        Assert.Multiple(() =>
        {
            Assert.That(kill.ExitCode, Is.Zero, kill.Error);
            foreach (var (refused, action) in new[] { (backup, "backed up"), (restore, "restored") })
            {
                Assert.That(refused.ExitCode, Is.EqualTo(2));
                Assert.That(refused.Error.Trim(), Does.StartWith("Backup repository repo1 (lagos) cannot be reached: lagos's pgBackRest TLS server at 127.0.201.4:8432")
                    .And.Contain($"Nothing was {action}.").And.Contain("./resilience rejoin lagos").And.Not.Contain("\n"));
                Assert.That(refused.Output, Is.Empty);
            }

            Assert.That(backup.Error, Does.Contain("./resilience backup --store redis --repo repo2"));
            Assert.That(restore.Error, Does.Contain("Use repo2 (abuja) instead: ./resilience restore --repo repo2."));
        });
    }

    [Test]
    [Order(5)]
    public async Task Down_stops_the_restored_servers_with_the_topology_leaving_no_process_nor_directory()
    {
        var down = await CliProcess.RunAsync("down");
        var upExit = await _up.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(down.ExitCode, Is.Zero, down.Error);
            Assert.That(upExit, Is.Zero);
            Assert.That(_up.Output, Does.Contain("no process, port or directory left"));
            Assert.That(ProcessesMentioning(CliProcess.RunRoot), Is.Empty, "no server of the run (restored copies included) left");
            Assert.That(Loopback.IsListening(RestoredPostgresEndPoint), Is.False);
            Assert.That(Loopback.IsListening(RestoredRedisEndPoint), Is.False);
            Assert.That(Directory.Exists(CliProcess.RunRoot) && Directory.EnumerateFileSystemEntries(CliProcess.RunRoot).Any(), Is.False, "no run directory (nor repository) left");
        });
    }

    /// <summary>What <c>pgrep -a -f</c> finds with <paramref name="text"/> in its command line.</summary>
    private static List<string> ProcessesMentioning(string text)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-a", "-f", text]) { RedirectStandardOutput = true })!;
        var output = pgrep.StandardOutput.ReadToEnd();
        pgrep.WaitForExit();
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.Contains("pgrep", StringComparison.Ordinal))];
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string?)await command.ExecuteScalarAsync();
    }
}
