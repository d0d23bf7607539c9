using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>
/// A fresh PostgreSQL started on a data directory pgBackRest restored: it fetches archived WAL through its region's
/// links (the restore's <c>restore_command</c>), replays up to the restore's target and promotes itself. Started without
/// Patroni and without archiving, on an address of the caller's choice; disposing it kills it.
/// </summary>
public sealed class RestoredPostgres : IAsyncDisposable
{
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(5);
    private readonly ManagedProcess _process;
    private readonly string _pidFile;

    private RestoredPostgres(ManagedProcess process, PostgresRestore restore, IPEndPoint endPoint, string socketDirectory, TimeSpan recovery)
    {
        _process = process;
        Restore = restore;
        EndPoint = endPoint;
        SocketDirectory = socketDirectory;
        RecoveryTime = recovery;
        _pidFile = Path.Combine(restore.DataDirectory, "postmaster.pid");
    }

    /// <summary>What was restored.</summary>
    public PostgresRestore Restore { get; }

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Its unix socket directory.</summary>
    public string SocketDirectory { get; }

    /// <summary>From the start of the postmaster until it accepted writes (WAL replay included).</summary>
    public TimeSpan RecoveryTime { get; }

    /// <summary>The postmaster.</summary>
    public ManagedProcess Process => _process;

    /// <summary>A connection string for it (through its TCP address).</summary>
    public string ConnectionString =>
        $"Host={EndPoint.Address};Port={EndPoint.Port};Username={PostgresTier.User};Database=postgres;Pooling=false;Timeout=5;Command Timeout=30";

    /// <summary>
    /// Starts PostgreSQL on <paramref name="restore"/>'s directory, listening on <paramref name="endPoint"/> (an address of
    /// the restore's region, so archived WAL from other regions crosses its links), and returns once it has replayed to
    /// the target and accepts writes.
    /// </summary>
    /// <exception cref="ServerProcessException">It exited (its last lines say why) or did not finish recovery in <paramref name="timeout"/>.</exception>
    public static async Task<RestoredPostgres> StartAsync(EnvironmentDefinition environment, RunDirectory run, PostgresRestore restore, IPEndPoint endPoint,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(restore);
        ArgumentNullException.ThrowIfNull(endPoint);
        var region = environment.Region(restore.Region);
        var socketDirectory = restore.DataDirectory.TrimEnd('/') + "-socket";
        await OneShotCommand.CreateDirectoryForAsync(run, socketDirectory, PostgresTier.User, cancellationToken).ConfigureAwait(false);
        var data = restore.DataDirectory;
        var folder = new string([.. Path.GetFileName(data.TrimEnd('/')).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-')]);
        var spec = new ProcessSpec($"{region.Name}-restored-{folder}"[..Math.Min(80, region.Name.Length + 10 + folder.Length)], "/usr/lib/postgresql/15/bin/postgres", "postgresql-15")
        {
            // The restored postgresql.conf is the backed-up node's (Patroni's): its address, sockets, hba file and commit
            // rule are overridden; archiving stays off so the restored server never writes into the repositories.
            Arguments =
            [
                "-D", data,
                "-c", $"listen_addresses={endPoint.Address}",
                "-c", string.Create(CultureInfo.InvariantCulture, $"port={endPoint.Port}"),
                "-c", $"unix_socket_directories={socketDirectory}",
                "-c", $"hba_file={Path.Combine(data, "pg_hba.conf")}",
                "-c", $"ident_file={Path.Combine(data, "pg_ident.conf")}",
                "-c", "archive_mode=off",
                "-c", "synchronous_standby_names=",
                "-c", "cluster_name=restored",
            ],
            RunAsUser = PostgresTier.User,
            HostsFile = RegionHosts.PathOf(run, region),
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            WorkingDirectory = data,
        };
        var started = Stopwatch.GetTimestamp();
        var process = await run.StartProcessAsync(spec, cancellationToken).ConfigureAwait(false);
        var restored = new RestoredPostgres(process, restore, endPoint, socketDirectory, TimeSpan.Zero);
        try
        {
            await process.WaitUntilReadyAsync(WaitStrategy.Until($"the restored PostgreSQL on {endPoint} to replay to {restore.Target} and accept writes",
                    restored.AcceptsWritesAsync)
                .WithTimeout(timeout ?? TimeSpan.FromMinutes(5)).WithInterval(TimeSpan.FromMilliseconds(50)), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await restored.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new RestoredPostgres(process, restore, endPoint, socketDirectory, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Runs one query returning a single value.</summary>
    public async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many rows <paramref name="table"/> holds (a plain identifier).</summary>
    public async Task<long> CountRowsAsync(string table, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        if (!table.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"'{table}' is not a plain table name.", nameof(table));
        }

        return Convert.ToInt64(await ScalarAsync($"SELECT count(*) FROM {table}", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>Kills the postmaster and its children (they leave its process group) and frees its shared memory.</summary>
    public async ValueTask DisposeAsync()
    {
        var segment = PostgresTier.SharedMemoryIdOf(_pidFile);
        await Task.WhenAll(_process.KillAsync(), DetachedServer.KillAsync(_pidFile, KillTimeout)).ConfigureAwait(false);
        await PostgresTier.RemoveOrphanedSharedMemoryAsync(segment is null ? [] : [segment], CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<bool> AcceptsWritesAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ScalarAsync("SELECT NOT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false) is true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
