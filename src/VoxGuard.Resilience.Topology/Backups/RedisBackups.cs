using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>What a Redis backup holds.</summary>
public enum RedisBackupKind
{
    /// <summary>An RDB snapshot (BGSAVE's dump.rdb): the guide's procedure.</summary>
    Rdb,

    /// <summary>The append-only file (Redis 7's appendonlydir: base and incremental files with their manifest).</summary>
    Aof,
}

/// <summary>One Redis backup in a repository (its manifest.json beside the files).</summary>
/// <param name="Repository">The repository holding it (repo1, repo2).</param>
/// <param name="Label">Its folder's name: UTC time, kind.</param>
/// <param name="Kind">RDB snapshot or AOF.</param>
/// <param name="Region">The region whose Redis it was taken from (the repository's own).</param>
/// <param name="Path">Its folder.</param>
/// <param name="SavedAt">When Redis finished writing it (LASTSAVE for an RDB; the copy's time for an AOF).</param>
/// <param name="Keys">DBSIZE when it was taken.</param>
/// <param name="Sha256">SHA-256 of every stored file (name and content), checked before a restore.</param>
/// <param name="Bytes">The stored size.</param>
/// <param name="Elapsed">How long taking it took.</param>
public sealed record RedisBackup(
    string Repository,
    string Label,
    RedisBackupKind Kind,
    string Region,
    string Path,
    DateTimeOffset SavedAt,
    long Keys,
    string Sha256,
    long Bytes,
    TimeSpan Elapsed);

/// <summary>
/// Redis backups as the deployment guide takes them — <c>BGSAVE</c>, wait until <c>LASTSAVE</c> changes, copy
/// <c>dump.rdb</c> into the backup store — and the append-only file as the other option (rewrites paused while
/// <c>appendonlydir</c> is copied). Each repository gets its copy from the Redis of its own region (Abuja's store from
/// Abuja's node, which holds the master's data by replication through the links), so no byte crosses regions outside a
/// link. Restores start a fresh redis-server from a stored backup, after <c>redis-check-rdb</c> / <c>redis-check-aof</c>
/// and the stored checksum accept it.
/// </summary>
public sealed class RedisBackups
{
    private const string ManifestName = "manifest.json";
    private static readonly TimeSpan SaveTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly BackupStores _stores;
    private int _restores;

    /// <summary>Backups of <paramref name="environment"/>'s Redis nodes into its repositories (see <see cref="BackupsDefinition.Repositories"/>).</summary>
    public RedisBackups(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        _environment = environment;
        _run = run;
        _stores = new BackupStores(environment, run);
    }

    /// <summary>Where a repository keeps its Redis backups.</summary>
    public string StoreOf(string repository) => System.IO.Path.Combine(_stores.StoreOf(RepositoryNamed(repository)), "redis");

    /// <summary>
    /// The guide's procedure on the Redis of <paramref name="repository"/>'s region: <c>BGSAVE</c>, wait until the save is
    /// done (polled every 20 ms; the guide sleeps 5 s between LASTSAVE checks), copy <c>dump.rdb</c> into the repository.
    /// </summary>
    /// <remarks>
    /// The guide waits for <c>LASTSAVE</c> to change. LASTSAVE counts whole seconds, so it cannot show a save that ends in
    /// the second of the one before (a replica writes the master's snapshot as its dump.rdb at its first sync): the guide's
    /// loop would wait forever, or copy the older file. The harness waits for what LASTSAVE stands for: no save running and
    /// dump.rdb written after BGSAVE was asked. LASTSAVE is still read, for <see cref="RedisBackup.SavedAt"/>.
    /// </remarks>
    public async Task<RedisBackup> BackupRdbAsync(string repository = "repo1", CancellationToken cancellationToken = default)
    {
        var (target, region, node) = Source(repository);
        var started = Stopwatch.GetTimestamp();
        var directory = (string)Config(await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "GET", "dir").ConfigureAwait(false));
        var file = (string)Config(await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "GET", "dbfilename").ConfigureAwait(false));
        var keys = (long)(await RespClient.CommandAsync(node, cancellationToken, "DBSIZE").ConfigureAwait(false))!;
        var before = (long)(await RespClient.CommandAsync(node, cancellationToken, "LASTSAVE").ConfigureAwait(false))!;
        var dump = System.IO.Path.Combine(directory, file);
        // File times come from the kernel's coarse clock, a few ms behind the precise one (docs/measured-facts.md,
        // "Redis BGSAVE: LASTSAVE and the file's time").
        var asked = DateTime.UtcNow - TimeSpan.FromMilliseconds(20);
        await StartSaveAsync(node, cancellationToken).ConfigureAwait(false);
        long lastSave = before;
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                lastSave = (long)(await RespClient.CommandAsync(node, cancel, "LASTSAVE").ConfigureAwait(false))!;
                var info = await RespClient.InfoAsync(node, "persistence", cancel).ConfigureAwait(false);
                return info.GetValueOrDefault("rdb_bgsave_in_progress") == "0" && File.Exists(dump) && File.GetLastWriteTimeUtc(dump) >= asked;
            },
            SaveTimeout,
            TimeSpan.FromMilliseconds(20),
            $"{region.Name}'s Redis ({node}) to finish BGSAVE (LASTSAVE was {before}; {dump} to be rewritten)",
            null,
            cancellationToken).ConfigureAwait(false);
        var persistence = await RespClient.InfoAsync(node, "persistence", cancellationToken).ConfigureAwait(false);
        if (persistence.GetValueOrDefault("rdb_last_bgsave_status") != "ok")
        {
            throw new BackupException(BackupProblem.Failed,
                $"{region.Name}'s Redis ({node}) finished BGSAVE with status {persistence.GetValueOrDefault("rdb_last_bgsave_status")}: no snapshot to copy. Check its log and free space in {directory}.");
        }

        var folder = NewFolder(target, RedisBackupKind.Rdb);
        File.Copy(dump, System.IO.Path.Combine(folder, "dump.rdb"));
        return Seal(target, region, folder, RedisBackupKind.Rdb, DateTimeOffset.FromUnixTimeSeconds(lastSave), keys, started);
    }

    /// <summary>
    /// Copies the append-only files of <paramref name="repository"/>'s region's Redis (<c>appendonly yes</c>, see
    /// <see cref="BackupsDefinition.Redis"/>) with automatic rewrites paused, so the set copied is one consistent set.
    /// </summary>
    public async Task<RedisBackup> BackupAofAsync(string repository = "repo1", CancellationToken cancellationToken = default)
    {
        var (target, region, node) = Source(repository);
        var started = Stopwatch.GetTimestamp();
        var persistence = await RespClient.InfoAsync(node, "persistence", cancellationToken).ConfigureAwait(false);
        if (persistence.GetValueOrDefault("aof_enabled") != "1")
        {
            throw new BackupException(BackupProblem.NoBackup,
                $"{region.Name}'s Redis ({node}) keeps no append-only file (appendonly no): there is no AOF to back up. Set backups.redis.appendonly: true in the environment, or take an RDB backup (BackupRdbAsync).");
        }

        var directory = (string)Config(await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "GET", "dir").ConfigureAwait(false));
        var aofDirectory = (string)Config(await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "GET", "appenddirname").ConfigureAwait(false));
        var rewrite = (string)Config(await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "GET", "auto-aof-rewrite-percentage").ConfigureAwait(false));
        await RespClient.CommandAsync(node, cancellationToken, "CONFIG", "SET", "auto-aof-rewrite-percentage", "0").ConfigureAwait(false);
        try
        {
            await WaitStrategy.UntilAsync(
                async cancel =>
                {
                    var info = await RespClient.InfoAsync(node, "persistence", cancel).ConfigureAwait(false);
                    return info.GetValueOrDefault("aof_rewrite_in_progress") == "0" && info.GetValueOrDefault("aof_rewrite_scheduled") == "0";
                },
                SaveTimeout,
                TimeSpan.FromMilliseconds(20),
                $"{region.Name}'s Redis ({node}) to finish an AOF rewrite in progress",
                null,
                cancellationToken).ConfigureAwait(false);
            var keys = (long)(await RespClient.CommandAsync(node, cancellationToken, "DBSIZE").ConfigureAwait(false))!;
            var folder = NewFolder(target, RedisBackupKind.Aof);
            CopyDirectory(System.IO.Path.Combine(directory, aofDirectory), System.IO.Path.Combine(folder, "appendonlydir"));
            return Seal(target, region, folder, RedisBackupKind.Aof, DateTimeOffset.UtcNow, keys, started);
        }
        finally
        {
            await RespClient.CommandAsync(node, CancellationToken.None, "CONFIG", "SET", "auto-aof-rewrite-percentage", rewrite).ConfigureAwait(false);
        }
    }

    /// <summary>The Redis backups in <paramref name="repository"/>, oldest first.</summary>
    public IReadOnlyList<RedisBackup> List(string repository)
    {
        var store = StoreOf(repository);
        if (!Directory.Exists(store))
        {
            return [];
        }

        return
        [
            .. Directory.EnumerateDirectories(store)
                .Select(folder => System.IO.Path.Combine(folder, ManifestName))
                .Where(File.Exists)
                .Select(manifest => JsonSerializer.Deserialize<RedisBackup>(File.ReadAllText(manifest), Json))
                .OfType<RedisBackup>()
                .OrderBy(backup => backup.SavedAt)
                .ThenBy(backup => backup.Label, StringComparer.Ordinal),
        ];
    }

    /// <summary>The newest backup in <paramref name="repository"/> (of <paramref name="kind"/> when given).</summary>
    /// <exception cref="BackupException">There is none yet (<see cref="BackupProblem.NoBackup"/>).</exception>
    public RedisBackup Latest(string repository = "repo1", RedisBackupKind? kind = null) =>
        List(repository).LastOrDefault(backup => kind is null || backup.Kind == kind)
        ?? throw new BackupException(BackupProblem.NoBackup,
            $"No Redis {(kind is null ? string.Empty : kind == RedisBackupKind.Rdb ? "RDB " : "AOF ")}backup to restore yet: {repository} ({RepositoryNamed(repository).Region}) holds none in {StoreOf(repository)}. "
            + $"Take one first (RedisBackups.{(kind == RedisBackupKind.Aof ? "BackupAofAsync" : "BackupRdbAsync")}), then restore.");

    /// <summary>
    /// Starts a fresh redis-server from <paramref name="backup"/> on <paramref name="endPoint"/> (an address of
    /// <paramref name="region"/>), in a new directory of the run; returns once the dataset is loaded. The stored files are
    /// checked first (<c>redis-check-rdb</c> or <c>redis-check-aof</c>, then their SHA-256).
    /// </summary>
    /// <exception cref="BackupException">The backup is damaged, or Redis would not load it (<see cref="BackupProblem.Corrupted"/>).</exception>
    public async Task<RestoredRedis> RestoreAsync(RedisBackup backup, string region, IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backup);
        ArgumentNullException.ThrowIfNull(endPoint);
        var where = _environment.Region(region);
        var name = string.Create(CultureInfo.InvariantCulture, $"{where.Name}-restored-redis-{Interlocked.Increment(ref _restores)}");
        var directory = _run.PathOf(name);
        await PlaceAsync(backup, directory, cancellationToken).ConfigureAwait(false);
        var aof = backup.Kind == RedisBackupKind.Aof;
        var config = System.IO.Path.Combine(directory, "redis.conf");
        await File.WriteAllLinesAsync(config,
        [
            $"bind {endPoint.Address}",
            string.Create(CultureInfo.InvariantCulture, $"port {endPoint.Port}"),
            "protected-mode no",
            "daemonize no",
            $"dir {directory}",
            "dbfilename dump.rdb",
            "save \"\"",
            // An RDB restore must not find an AOF: with appendonly yes Redis would load the (empty) AOF instead.
            aof ? "appendonly yes" : "appendonly no",
            "appenddirname appendonlydir",
        ], cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var process = await _run.StartProcessAsync(new ProcessSpec(name, "redis-server", "redis-server") { Arguments = [config], NetworkNamespace = _run.NetworkNamespaceOf(where.Name) }, cancellationToken).ConfigureAwait(false);
        try
        {
            await process.WaitUntilReadyAsync(WaitStrategy.Until($"the restored Redis on {endPoint} to load {backup.Label}",
                async cancel => (await RespClient.InfoAsync(endPoint, "persistence", cancel).ConfigureAwait(false)).GetValueOrDefault("loading") == "0")
                .WithTimeout(LoadTimeout).WithInterval(TimeSpan.FromMilliseconds(20)), cancellationToken).ConfigureAwait(false);
        }
        catch (ServerProcessException exception) when (process.HasExited)
        {
            await process.DisposeAsync().ConfigureAwait(false);
            TryDelete(directory);
            throw new BackupException(BackupProblem.Corrupted,
                $"Redis would not load backup {backup.Label} from {backup.Repository}: redis-server exited while loading it ({string.Join(" | ", exception.OutputTail.TakeLast(3))}). "
                + "Restore an older backup or the other repository's copy.",
                exception.ExitCode, exception.OutputTail, exception);
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            TryDelete(directory);
            throw;
        }

        return new RestoredRedis(process, backup, endPoint, directory, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The newest backup in <paramref name="repository"/> saved at or before <paramref name="time"/>, or null.</summary>
    public RedisBackup? LatestAtOrBefore(string repository, DateTimeOffset time) => List(repository).LastOrDefault(backup => backup.SavedAt <= time);

    /// <summary>
    /// Checks <paramref name="backup"/> (<c>redis-check-rdb</c> / <c>redis-check-aof</c>, its SHA-256) and copies its files
    /// into <paramref name="directory"/>, a Redis data directory not started yet (created; refused unless absent or empty).
    /// </summary>
    /// <exception cref="BackupException">The backup is damaged, or the directory holds data.</exception>
    internal async Task PlaceAsync(RedisBackup backup, string directory, CancellationToken cancellationToken)
    {
        await CheckAsync(backup, cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new BackupException(BackupProblem.TargetInUse, $"Will not restore Redis into {directory}: it is not empty. A restore never writes over existing data.");
        }

        Directory.CreateDirectory(directory);
        if (backup.Kind == RedisBackupKind.Aof)
        {
            CopyDirectory(System.IO.Path.Combine(backup.Path, "appendonlydir"), System.IO.Path.Combine(directory, "appendonlydir"));
        }
        else
        {
            File.Copy(System.IO.Path.Combine(backup.Path, "dump.rdb"), System.IO.Path.Combine(directory, "dump.rdb"));
        }
    }

    /// <summary>Removes a restore's directory after a failed start (a restore leaves nothing half made).</summary>
    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The run directory goes with the run; what could not be removed now is removed then.
        }
    }

    private (BackupRepositoryDefinition Repository, RegionDefinition Region, IPEndPoint Node) Source(string repository)
    {
        var target = RepositoryNamed(repository);
        var region = _environment.Region(target.Region);
        return (target, region, region.Redis.EndPoint);
    }

    private BackupRepositoryDefinition RepositoryNamed(string name) => _stores.Repository(name);

    private static object Config(object? reply) => reply is object?[] { Length: 2 } pair && pair[1] is string value ? value : throw new RespErrorException($"unexpected CONFIG GET reply {reply}");

    /// <summary>
    /// BGSAVE SCHEDULE (after an AOF rewrite that is running: a replica rewrites its AOF after every full sync); when a
    /// save is already running, waits for it and asks again.
    /// </summary>
    private static async Task StartSaveAsync(IPEndPoint node, CancellationToken cancellationToken)
    {
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                try
                {
                    await RespClient.CommandAsync(node, cancel, "BGSAVE", "SCHEDULE").ConfigureAwait(false);
                    return true;
                }
                catch (RespErrorException exception) when (exception.Message.Contains("in progress", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            },
            SaveTimeout,
            TimeSpan.FromMilliseconds(50),
            $"Redis ({node}) to accept BGSAVE",
            null,
            cancellationToken).ConfigureAwait(false);
    }

    private string NewFolder(BackupRepositoryDefinition repository, RedisBackupKind kind)
    {
        var store = StoreOf(repository.Name);
        Directory.CreateDirectory(store);
        for (var attempt = 0; ; attempt++)
        {
            var label = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss.fff}-{kind.ToString().ToLowerInvariant()}{(attempt == 0 ? string.Empty : $"-{attempt}")}");
            var folder = System.IO.Path.Combine(store, label);
            if (!Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder);
                return folder;
            }
        }
    }

    private RedisBackup Seal(BackupRepositoryDefinition repository, RegionDefinition region, string folder, RedisBackupKind kind, DateTimeOffset savedAt, long keys, long started)
    {
        var (sha, bytes) = Fingerprint(folder);
        var backup = new RedisBackup(repository.Name, System.IO.Path.GetFileName(folder), kind, region.Name, folder, savedAt, keys, sha, bytes, Stopwatch.GetElapsedTime(started));
        File.WriteAllText(System.IO.Path.Combine(folder, ManifestName), JsonSerializer.Serialize(backup, Json));
        return backup;
    }

    /// <summary>Runs Redis's own checker on the stored files, then compares their SHA-256 with the manifest's.</summary>
    private async Task CheckAsync(RedisBackup backup, CancellationToken cancellationToken)
    {
        var (tool, file) = backup.Kind == RedisBackupKind.Rdb
            ? ("redis-check-rdb", System.IO.Path.Combine(backup.Path, "dump.rdb"))
            : ("redis-check-aof", Directory.EnumerateFiles(System.IO.Path.Combine(backup.Path, "appendonlydir"), "*.manifest").FirstOrDefault() ?? System.IO.Path.Combine(backup.Path, "appendonlydir"));
        if (!File.Exists(file))
        {
            throw new BackupException(BackupProblem.Corrupted, $"Redis backup {backup.Label} in {backup.Repository} is incomplete: {file} is missing. Restore another backup.");
        }

        var check = await OneShotCommand.RunAsync(_run, new ProcessSpec(tool, tool, "redis-tools") { Arguments = [file] }, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        if (check.ExitCode != 0)
        {
            // redis-check-rdb lists every field it read, then "--- RDB ERROR DETECTED ---" and what went wrong.
            var lines = check.Output.Concat(check.Errors).ToList();
            var first = lines.FindIndex(line => line.Contains("error", StringComparison.OrdinalIgnoreCase) || line.Contains("corrupt", StringComparison.OrdinalIgnoreCase));
            var said = first < 0 ? string.Empty : string.Join(" | ", lines.Skip(first).Take(3).Select(line => line.Trim()));
            throw new BackupException(BackupProblem.Corrupted,
                string.Create(CultureInfo.InvariantCulture, $"Redis backup {backup.Label} in {backup.Repository} is corrupted: {tool} refused {file} (exit {check.ExitCode}: {(said.Length > 0 ? said : check.TailText)}). ")
                + "Nothing was started on it. Restore an older backup or the other repository's copy.",
                check.ExitCode, check.Tail);
        }

        var (sha, _) = Fingerprint(backup.Path);
        if (sha != backup.Sha256)
        {
            throw new BackupException(BackupProblem.Corrupted,
                $"Redis backup {backup.Label} in {backup.Repository} is corrupted: its files' SHA-256 is {sha}, the manifest recorded {backup.Sha256} when it was taken. "
                + "Nothing was started on it. Restore an older backup or the other repository's copy.");
        }
    }

    /// <summary>SHA-256 over every file of a backup folder but the manifest (relative name, then content), and their size.</summary>
    private static (string Sha256, long Bytes) Fingerprint(string folder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bytes = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                     .Where(file => System.IO.Path.GetFileName(file) != ManifestName)
                     .Order(StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(System.IO.Path.GetRelativePath(folder, file)));
            var content = File.ReadAllBytes(file);
            hash.AppendData(content);
            bytes += content.Length;
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), bytes);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, System.IO.Path.Combine(to, System.IO.Path.GetFileName(file)));
        }
    }
}
