using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The stand-in for YugabyteDB: one PostgreSQL 15 per region, the primary region's the primary, the others streaming
/// replicas reaching it through the inter-region links.
/// </summary>
/// <remarks>
/// Fast start (PROBES): one initdb into a template, copied once per region, so every node begins from the same
/// system identifier and LSN and a replica needs no base backup. PostgreSQL refuses root, so every node runs as
/// the postgres user (setpriv keeps the PID). libpq cannot choose a source address, so standbys dial their
/// region's gateway to the primary (e.g. abuja-lagos-pg at 127.0.2.100:5432) rather than the switchboard.
/// </remarks>
public sealed class PostgresTier : IAsyncDisposable
{
    /// <summary>The unprivileged user every node runs as.</summary>
    public const string User = "postgres";

    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly EnvironmentDefinition _environment;

    private PostgresTier(EnvironmentDefinition environment, IReadOnlyDictionary<string, ManagedProcess> processes)
    {
        _environment = environment;
        Processes = processes;
    }

    /// <summary>The PostgreSQL process of each region, by region name.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes { get; }

    /// <summary>Starts every node and returns when a row inserted on the primary is readable on every replica.</summary>
    public static async Task<PostgresTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var plan = InterRegionLinkPlan.For(environment);
        await RemoveOrphanedSharedMemoryAsync(cancellationToken).ConfigureAwait(false); // what killed runs left
        ProcessSpec.EnsureInstalled(environment.Regions.Select(region => NodeSpec(run, environment, plan, region)).Append(InitdbSpec(run)));

        var template = run.PathOf("pg-template");
        await RunToCompletionAsync(run, OwnedDirectorySpec(template, "pg-template-dir"), cancellationToken).ConfigureAwait(false);
        await RunToCompletionAsync(run, InitdbSpec(run), cancellationToken).ConfigureAwait(false);
        await File.AppendAllTextAsync(Path.Combine(template, "postgresql.conf"), SharedSettings, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(template, "pg_hba.conf"), HostBasedAccess, cancellationToken).ConfigureAwait(false);

        var processes = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            var data = DataDirectory(run, region);
            await RunToCompletionAsync(run, new ProcessSpec($"{region.Name}-pg-copy", "cp", "coreutils")
            {
                Arguments = ["-a", template, data],
            }, cancellationToken).ConfigureAwait(false);
            await RunToCompletionAsync(run, OwnedDirectorySpec(SocketDirectory(run, region), $"{region.Name}-pg-socket-dir"), cancellationToken).ConfigureAwait(false);
            if (!region.IsPrimary)
            {
                await File.WriteAllTextAsync(Path.Combine(data, "standby.signal"), string.Empty, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var region in environment.Regions)
        {
            var process = await run.StartProcessAsync(NodeSpec(run, environment, plan, region), cancellationToken).ConfigureAwait(false);
            processes[region.Name] = process;
            await process.WaitUntilReadyAsync(WaitStrategy.Until(
                $"{region.Name}'s PostgreSQL ({region.Postgres.EndPoint}) to accept queries",
                async cancel => await AcceptsQueriesAsync(region.Postgres.EndPoint, cancel).ConfigureAwait(false)).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        }

        var tier = new PostgresTier(environment, processes);
        await tier.ExecuteAsync(environment.Primary.Name, "CREATE TABLE voxguard_markers (id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())", cancellationToken).ConfigureAwait(false);
        await tier.WaitUntilReplicatedAsync($"ready-{run.RunId}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
        return tier;
    }

    /// <summary>
    /// Kills every node and removes the SysV shared-memory segments killed postmasters leave behind (PostgreSQL only
    /// cleans them up on a clean shutdown, and region-loss drills kill). Call before disposing the run.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes.Values)
        {
            await process.KillAsync().ConfigureAwait(false);
        }

        await RemoveOrphanedSharedMemoryAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes shared-memory segments of the postgres user that no process has attached any more (nattch 0): the
    /// interlock segments of dead postmasters. A running PostgreSQL keeps its own attached, so it is never touched.
    /// Waits up to a second for a killed node's children to finish exiting.
    /// </summary>
    public static async Task RemoveOrphanedSharedMemoryAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var segments = await ListSharedMemoryAsync(cancellationToken).ConfigureAwait(false);
            foreach (var orphan in segments.Where(segment => segment.Attached == 0))
            {
                using var remove = Process.Start(new ProcessStartInfo("ipcrm", ["-m", orphan.Id]) { RedirectStandardError = true })!;
                await remove.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (segments.All(segment => segment.Attached == 0))
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false); // children of a killed node still exiting
        }
    }

    private static async Task<List<(string Id, int Attached)>> ListSharedMemoryAsync(CancellationToken cancellationToken)
    {
        using var ipcs = Process.Start(new ProcessStartInfo("ipcs", ["-m"]) { RedirectStandardOutput = true })!;
        var output = await ipcs.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await ipcs.WaitForExitAsync(cancellationToken).ConfigureAwait(false);

        // key shmid owner perms bytes nattch status
        return [.. output.Split('\n')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[2] == User && int.TryParse(fields[5], CultureInfo.InvariantCulture, out _))
            .Select(fields => (fields[1], int.Parse(fields[5], CultureInfo.InvariantCulture)))];
    }

    /// <summary>A connection string for a region's node (clients inside that region).</summary>
    public string ConnectionStringOf(string region)
    {
        var endpoint = _environment.Region(region).Postgres.EndPoint;
        return $"Host={endpoint.Address};Port={endpoint.Port};Username={User};Database=postgres;Pooling=false;Timeout=5;Command Timeout=5";
    }

    /// <summary>Runs one statement on a region's node.</summary>
    public async Task ExecuteAsync(string region, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionStringOf(region));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one query returning a single value on a region's node.</summary>
    public async Task<object?> ScalarAsync(string region, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionStringOf(region));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="marker"/> is readable on a region's node.</summary>
    public async Task<bool> HasMarkerAsync(string region, string marker, CancellationToken cancellationToken = default) =>
        Convert.ToInt64(await ScalarAsync(region, $"SELECT count(*) FROM voxguard_markers WHERE id = '{marker.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 1;

    /// <summary>Inserts a marker row on the primary and waits until every replica reads it; returns how long that took.</summary>
    public async Task<TimeSpan> WaitUntilReplicatedAsync(string marker, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await ExecuteAsync(_environment.Primary.Name, $"INSERT INTO voxguard_markers (id) VALUES ('{marker.Replace("'", "''", StringComparison.Ordinal)}')", cancellationToken).ConfigureAwait(false);
        foreach (var replica in _environment.Replicas)
        {
            await WaitStrategy.UntilAsync(
                cancel => HasMarkerAsync(replica.Name, marker, cancel),
                timeout,
                TimeSpan.FromMilliseconds(10),
                $"marker {marker} inserted on {_environment.Primary.Name} to be readable on {replica.Name}'s PostgreSQL",
                Processes[replica.Name],
                cancellationToken).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    private const string SharedSettings = """

        # VoxGuard.Resilience: settings every node shares (node identity is on the command line). No
        # max_connections here: a hot standby refuses fewer than the primary's pg_control records (100).
        wal_level = replica
        max_wal_senders = 10
        wal_log_hints = on
        hot_standby = on
        wal_retrieve_retry_interval = 100ms
        shared_buffers = 16MB
        fsync = off
        # Dynamic shared memory as files in the data directory, not /dev/shm/PostgreSQL.*: a killed node's
        # segments then go with the run directory.
        dynamic_shared_memory_type = mmap
        """;

    private const string HostBasedAccess = """
        # Loopback only: every region lives in 127.0.0.0/8.
        local all all trust
        host all all 127.0.0.0/8 trust
        host replication all 127.0.0.0/8 trust
        """;

    private static string DataDirectory(RunDirectory run, RegionDefinition region) => run.PathOf($"{region.Name}-pg");

    private static string SocketDirectory(RunDirectory run, RegionDefinition region) => run.PathOf($"{region.Name}-pg-socket");

    private static ProcessSpec InitdbSpec(RunDirectory run) => new("pg-initdb", $"{BinDirectory}/initdb", "postgresql-15")
    {
        Arguments = ["-D", run.PathOf("pg-template"), "-U", User, "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"],
        RunAsUser = User,
    };

    private static ProcessSpec OwnedDirectorySpec(string path, string name) => new(name, "install", "coreutils")
    {
        Arguments = ["-d", "-o", User, "-g", User, "-m", "700", path],
    };

    private static ProcessSpec NodeSpec(RunDirectory run, EnvironmentDefinition environment, IReadOnlyList<InterRegionLink> plan, RegionDefinition region)
    {
        var arguments = new List<string>
        {
            "-D", DataDirectory(run, region),
            "-c", $"listen_addresses={region.Postgres.Address}",
            "-c", $"port={region.Postgres.Port}",
            "-c", $"unix_socket_directories={SocketDirectory(run, region)}",
            "-c", $"cluster_name={region.Name}",
        };
        if (!region.IsPrimary)
        {
            var gateway = plan.Single(link => link.From == region.Name && link.To == environment.Primary.Name && link.Service == RegionService.Postgres).Listen;
            arguments.AddRange(["-c", $"primary_conninfo=host={gateway.Address} port={gateway.Port} user={User} application_name={region.Name}"]);
        }

        return new ProcessSpec($"{region.Name}-pg", $"{BinDirectory}/postgres", "postgresql-15")
        {
            Arguments = arguments,
            RunAsUser = User,
        };
    }

    private static async Task RunToCompletionAsync(RunDirectory run, ProcessSpec spec, CancellationToken cancellationToken)
    {
        var process = await run.StartProcessAsync(spec, cancellationToken).ConfigureAwait(false);
        var exit = await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (exit.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{spec.Name} ({spec.Executable} {string.Join(' ', spec.Arguments)}) exited with {exit.ExitCode}: {string.Join(" | ", process.StandardErrorTail.TakeLast(5))}");
        }
    }

    private static async Task<bool> AcceptsQueriesAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection($"Host={endpoint.Address};Port={endpoint.Port};Username={User};Database=postgres;Pooling=false;Timeout=2");
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
