using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The stand-in for YugabyteDB: one PostgreSQL 15 per region under Patroni, with a three-member etcd
/// (<see cref="EtcdCluster"/>) as its quorum. Patroni bootstraps the primary region's node, clones the others,
/// streams WAL between them through the inter-region links, and on its own elects and promotes a new primary when the
/// leader's key expires, demotes a primary that lost the quorum, and rewinds a returning node into a standby. The
/// harness starts, kills, pauses and observes; the only action it asks of Patroni is the failback procedure's
/// switchover.
/// </summary>
/// <remarks>
/// PostgreSQL refuses root, so Patroni and its PostgreSQL run as the postgres user. Patroni starts PostgreSQL in a
/// session of its own, so a node's loss kills Patroni's group and then PostgreSQL through its postmaster.pid
/// (<see cref="DetachedServer"/>). Every address another node dials is a <see cref="RegionHosts"/> name.
/// </remarks>
public sealed class PostgresTier : IAsyncDisposable
{
    /// <summary>The unprivileged user every node runs as.</summary>
    public const string User = "postgres";

    private const string PidFileName = "postmaster.pid";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(5);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    // Patroni answers POST /switchover only once the switch is done: a clean shutdown, a promotion, a restart.
    private static readonly HttpClient SwitchoverHttp = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly Dictionary<string, ManagedProcess> _patroni;
    private readonly SemaphoreSlim _operations = new(1, 1);

    // Observation queries (roles, replication state, markers, lag) run several times a second for as long as a
    // scenario, a wait or `up` watches, so each node has a small pool of sessions for them (ObserveAsync). A new
    // PostgreSQL session is a fork of the postmaster: 20 ms of the server's CPU each on this kind of host (process
    // accounting of 300 connects), and fresh sessions for these polls were a fifth of all CPU in the suite's lanes
    // (5 769 backends in 9.5 min; docs/measured-facts.md, "The observers' own PostgreSQL sessions").
    private readonly ConcurrentDictionary<string, NpgsqlDataSource> _observers = new(StringComparer.Ordinal);

    private PostgresTier(EnvironmentDefinition environment, RunDirectory run, EtcdCluster etcd, Dictionary<string, ManagedProcess> patroni)
    {
        _environment = environment;
        _run = run;
        Etcd = etcd;
        _patroni = patroni;
    }

    /// <summary>The Patroni process of each region, by region name (the latest one after a restart): the node's manager.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes => _patroni;

    /// <summary>The etcd members Patroni keeps its leader key in.</summary>
    public EtcdCluster Etcd { get; }

    /// <summary>Every program the tier runs, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return [.. EtcdCluster.SpecsFor(environment, run), .. environment.Regions.Select(region => PatroniSpec(run, region)),
            new ProcessSpec("postgres", $"{BinDirectory}/postgres", "postgresql-15")];
    }

    private const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>
    /// Starts etcd, then the primary region's Patroni (which bootstraps the cluster and takes the leader key), then the
    /// others (which clone it through the links), and returns when a row inserted on the primary is readable on every
    /// standby.
    /// </summary>
    public static Task<PostgresTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, archiving: null, cancellationToken);

    /// <summary>
    /// Starts the tier as <see cref="StartAsync(EnvironmentDefinition, RunDirectory, CancellationToken)"/> does, every node
    /// with <paramref name="archiving"/>'s <c>archive_command</c> and <c>archive_timeout</c> (archive_mode on) when given:
    /// the settings <see cref="Backups.PostgresBackups.Archiving"/> gives.
    /// </summary>
    public static Task<PostgresTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, WalArchiving? archiving, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, archiving, new PhaseTimings(), cancellationToken);

    /// <summary>
    /// Starts the tier as <see cref="StartAsync(EnvironmentDefinition, RunDirectory, WalArchiving?, CancellationToken)"/>
    /// does, timing each phase into <paramref name="phases"/>.
    /// </summary>
    public static async Task<PostgresTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, WalArchiving? archiving, PhaseTimings phases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(phases);
        await phases.TimeAsync("postgres: prepare (orphaned shared memory, hosts files, directories, patroni.yml)", async () =>
        {
            await RemoveOrphanedSharedMemoryAsync([], cancellationToken).ConfigureAwait(false); // what killed runs left (nothing of this run to wait for)
            ProcessSpec.EnsureInstalled(SpecsFor(environment, run));
            await RegionHosts.WriteAsync(environment, run, cancellationToken).ConfigureAwait(false);
            await PrepareNodesAsync(environment, run, archiving, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);

        var etcd = await phases.TimeAsync("postgres: etcd members healthy (leader and quorum)",
            () => EtcdCluster.StartAsync(environment, run, cancellationToken)).ConfigureAwait(false);
        var patroni = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        var tier = new PostgresTier(environment, run, etcd, patroni);
        try
        {
            // The primary region first, alone: whoever takes the leader key first bootstraps the cluster. (Starting the
            // others as soon as it holds the initialize key overlaps their own start with the bootstrap, but a replica
            // that finds no leader yet sleeps a whole loop_wait: measured with the ci profile, replicas streamed 0.2 s
            // sooner, within the noise; with the documented 10 s loop_wait, up to 10 s later. Not worth it: docs/measured-facts.md,
            // "Topology start: where the seconds go".)
            var primary = environment.Primary;
            var replicas = environment.Regions.Where(region => !region.IsPrimary).ToList();
            await phases.TimeAsync($"postgres: {primary.Name}'s Patroni bootstraps the cluster and leads it", async () =>
            {
                patroni[primary.Name] = await run.StartProcessAsync(PatroniSpec(run, primary), cancellationToken).ConfigureAwait(false);
                await patroni[primary.Name].WaitUntilReadyAsync(WaitStrategy.Until($"{primary.Name}'s Patroni to bootstrap the cluster and lead it",
                    cancel => tier.IsLeaderAsync(primary, cancel)).WithTimeout(ReadyTimeout).WithInterval(TimeSpan.FromMilliseconds(50)), cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
            var cloning = Stopwatch.GetTimestamp();
            foreach (var replica in replicas)
            {
                patroni[replica.Name] = await run.StartProcessAsync(PatroniSpec(run, replica), cancellationToken).ConfigureAwait(false);
            }

            await phases.TimeAsync("postgres: tables created on the primary", async () =>
            {
                foreach (var statement in Schema)
                {
                    await tier.ExecuteAsync(primary.Name, statement, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);

            await Task.WhenAll(replicas.Select(async replica =>
            {
                await patroni[replica.Name].WaitUntilReadyAsync(WaitStrategy.Until($"{replica.Name}'s Patroni to clone the primary and stream from it",
                    cancel => tier.IsStreamingStandbyAsync(replica, cancel)).WithTimeout(ReadyTimeout).WithInterval(TimeSpan.FromMilliseconds(50)), cancellationToken).ConfigureAwait(false);
                phases.Record($"postgres: {replica.Name}'s Patroni started, cloned the primary and streams", cloning);
            })).ConfigureAwait(false);

            await phases.TimeAsync("postgres: marker replicated to every standby",
                () => tier.WaitUntilReplicatedAsync($"ready-{run.RunId}", ReadyTimeout, cancellationToken)).ConfigureAwait(false);
            return tier;
        }
        catch
        {
            await tier.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Kills every Patroni, every PostgreSQL (through its postmaster.pid) and every etcd member, and removes the SysV
    /// shared-memory segments killed postmasters leave behind. Call before disposing the run.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var observer in _observers.Values)
        {
            await observer.DisposeAsync().ConfigureAwait(false);
        }

        var segments = _environment.Regions.Select(region => SharedMemoryIdOf(PidFileOf(region.Name))).OfType<string>().ToList();
        await Task.WhenAll(_environment.Regions.Select(region => KillNodeAsync(region.Name, CancellationToken.None)).Append(Etcd.DisposeAsync().AsTask())).ConfigureAwait(false);
        await RemoveOrphanedSharedMemoryAsync(segments, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// SIGKILLs a region's database host: its Patroni, its PostgreSQL (postmaster and every child) and its etcd member,
    /// all at once. Returns when they have exited.
    /// </summary>
    public async Task KillRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = _environment.Region(region).Name;
        await Task.WhenAll(KillNodeAsync(name, cancellationToken), Etcd.Members[name].KillAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>SIGKILLs a region's Patroni and its PostgreSQL (the node crashes; its etcd member stays).</summary>
    public async Task KillNodeAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = _environment.Region(region).Name;
        var pidFile = PidFileOf(name);
        // Both at once: Patroni must not get a loop in to restart PostgreSQL, nor PostgreSQL outlive its manager.
        Task patroni = _patroni.TryGetValue(name, out var process) ? process.KillAsync(cancellationToken) : Task.CompletedTask;
        await Task.WhenAll(patroni, DetachedServer.KillAsync(pidFile, KillTimeout, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>SIGSTOPs (or SIGCONTs) a region's Patroni and its PostgreSQL: alive but silent, as a hung host is.</summary>
    public async Task SetNodeFrozenAsync(string region, bool frozen, CancellationToken cancellationToken = default)
    {
        var name = _environment.Region(region).Name;
        var patroni = _patroni[name];
        if (frozen)
        {
            if (!patroni.HasExited && !patroni.IsPaused)
            {
                await patroni.PauseAsync(cancellationToken).ConfigureAwait(false);
            }

            DetachedServer.Signal(PidFileOf(name), Signals.Stop);
        }
        else
        {
            DetachedServer.Signal(PidFileOf(name), Signals.Cont);
            if (patroni.IsPaused)
            {
                await patroni.ResumeAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Removes shared-memory segments of the postgres user that no process has attached any more (nattch 0): the
    /// interlock segments of dead postmasters. A running PostgreSQL keeps its own attached, so it is never touched.
    /// Waits up to a second for a killed node's children to finish exiting (while any segment of the user is attached:
    /// another PostgreSQL running makes it wait the whole second; the tier waits only for its own, see
    /// <see cref="RemoveOrphanedSharedMemoryAsync(IReadOnlyCollection{string}, CancellationToken)"/>).
    /// </summary>
    public static Task RemoveOrphanedSharedMemoryAsync(CancellationToken cancellationToken) => RemoveOrphanedSharedMemoryAsync(null, cancellationToken);

    /// <summary>
    /// Removes the orphaned segments as <see cref="RemoveOrphanedSharedMemoryAsync(CancellationToken)"/> does, waiting (up
    /// to a second) only while one of <paramref name="killed"/> — the segments of postmasters just killed, from their
    /// postmaster.pid (<see cref="SharedMemoryIdOf"/>) — is still attached; empty: one pass, no wait. The segments of
    /// other PostgreSQL servers running on the machine (another run's, a restored server) keep nobody waiting.
    /// </summary>
    internal static async Task RemoveOrphanedSharedMemoryAsync(IReadOnlyCollection<string>? killed, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var segments = await ListSharedMemoryAsync(cancellationToken).ConfigureAwait(false);
            foreach (var orphan in segments.Where(segment => segment.Attached == 0))
            {
                using var remove = Process.Start(new ProcessStartInfo("ipcrm", ["-m", orphan.Id]) { RedirectStandardError = true })!;
                await remove.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (segments.All(segment => segment.Attached == 0 || (killed is not null && !killed.Contains(segment.Id))))
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false); // children of a killed node still exiting
        }
    }

    /// <summary>
    /// The id of the SysV shared-memory segment a postmaster recorded in its postmaster.pid (line 7: key and id), or
    /// null when the file is missing or has none.
    /// </summary>
    internal static string? SharedMemoryIdOf(string pidFile)
    {
        try
        {
            var lines = File.ReadAllLines(pidFile);
            var fields = lines.Length >= 7 ? lines[6].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            return fields.Length == 2 ? fields[1] : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
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

    /// <summary>
    /// Runs a read-only query on a region's node through the node's observation pool and returns its rows (DBNull as
    /// null). A pooled session the server has ended since its last use (a restart, a demotion, a node killed and started
    /// again) fails without reaching the server; the query is then asked once more on a new session, so a failure is
    /// the server's own (down, refusing, not answering) and an answer is what it says now, as with a new session each
    /// time. <paramref name="cancellationToken"/> ends the wait for the answer, not the query (see <see cref="QueryAsync"/>).
    /// </summary>
    public async Task<IReadOnlyList<object?[]>> ObserveAsync(string region, string sql, CancellationToken cancellationToken = default)
    {
        try
        {
            return await QueryAsync(token => Observer(region).OpenConnectionAsync(token), sql, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException exception) when (MayBeAnEndedSession(exception) && !cancellationToken.IsCancellationRequested)
        {
            Observer(region).Clear();
            return await QueryAsync(async token =>
                {
                    var fresh = new NpgsqlConnection(ConnectionStringOf(region));
                    try
                    {
                        await fresh.OpenAsync(token).ConfigureAwait(false);
                        return fresh;
                    }
                    catch
                    {
                        await fresh.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }, sql, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The first column of the first row of <see cref="ObserveAsync"/>, or null when there is none.</summary>
    public async Task<object?> ObserveScalarAsync(string region, string sql, CancellationToken cancellationToken = default) =>
        (await ObserveAsync(region, sql, cancellationToken).ConfigureAwait(false)) is [var first, ..] && first.Length > 0 ? first[0] : null;

    /// <summary>
    /// Whether a failed query may have failed on a session the server ended, not on the server as it is now: any
    /// failure but a timeout (a node that does not answer would not answer a new session either) and the server's own
    /// errors other than the ends of sessions (57P01 terminated by a shutdown, 57P02 by a crash).
    /// </summary>
    private static bool MayBeAnEndedSession(NpgsqlException exception) =>
        exception.InnerException is not TimeoutException
        && exception is not PostgresException { SqlState: not ("57P01" or "57P02") };

    private NpgsqlDataSource Observer(string region) =>
        _observers.GetOrAdd(region, name => NpgsqlDataSource.Create(ObserverConnectionStringOf(name)));

    /// <summary>
    /// An observation pool's sessions: at most 8 a node (the pollers of a scenario, a status and a wait at once, and
    /// queries a frozen node has not answered yet), kept without a reset (they only read); a query the server does not
    /// answer within 5 s (Command Timeout) ends and its session is broken, without waiting for the server to confirm a
    /// cancellation (Cancellation Timeout=-1). Otherwise the node's own <see cref="ConnectionStringOf"/>.
    /// </summary>
    private string ObserverConnectionStringOf(string region) =>
        new NpgsqlConnectionStringBuilder(ConnectionStringOf(region)) { Pooling = true, MaxPoolSize = 8, NoResetOnClose = true, CancellationTimeout = -1 }.ConnectionString;

    /// <summary>
    /// Opens a session (the caller's token can end that) and runs the query on it without the token: a cancelled Npgsql
    /// query sends PostgreSQL a cancel request and waits for the server to take it, which a frozen node never does (a
    /// 1 s answer timeout held the poller 6 s: the cancel request's connect Timeout). The caller stops waiting when its
    /// token fires; the abandoned query ends by itself within Command Timeout and gives its session back or breaks it.
    /// </summary>
    private static async Task<IReadOnlyList<object?[]>> QueryAsync(Func<CancellationToken, ValueTask<NpgsqlConnection>> open, string sql, CancellationToken cancellationToken)
    {
        var query = RunAsync();
        try
        {
            return await query.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ = query.ContinueWith(static abandoned => _ = abandoned.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }

        async Task<IReadOnlyList<object?[]>> RunAsync()
        {
            await using var connection = await open(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
            var rows = new List<object?[]>();
            while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                var row = new object?[reader.FieldCount];
                for (var column = 0; column < row.Length; column++)
                {
                    row[column] = reader.IsDBNull(column) ? null : reader.GetValue(column);
                }

                rows.Add(row);
            }

            return rows;
        }
    }

    /// <summary>
    /// The tables every topology's primary holds, created once it leads: the harness's markers, and the engines' call
    /// events (one row per acknowledged write, read back to account for every write: RPO).
    /// </summary>
    public static IReadOnlyList<string> Schema { get; } =
    [
        "CREATE TABLE IF NOT EXISTS voxguard_markers (id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS voxguard_writes (id text PRIMARY KEY, region text NOT NULL, call_id text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())",
    ];

    /// <summary>Inserts <paramref name="marker"/> into voxguard_markers on a region's node (the primary).</summary>
    private Task InsertMarkerAsync(string region, string marker, CancellationToken cancellationToken) =>
        ExecuteAsync(region, $"INSERT INTO voxguard_markers (id) VALUES ('{marker.Replace("'", "''", StringComparison.Ordinal)}')", cancellationToken);

    /// <summary>Whether <paramref name="marker"/> is readable on a region's node.</summary>
    public async Task<bool> HasMarkerAsync(string region, string marker, CancellationToken cancellationToken = default) =>
        Convert.ToInt64(await ObserveScalarAsync(region, $"SELECT count(*) FROM voxguard_markers WHERE id = '{marker.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 1;

    /// <summary>
    /// The regions whose node, asked now, runs as a primary (not in recovery). Two during a split brain; none while an
    /// election is under way. Observed from the servers, never from what the harness did.
    /// </summary>
    public async Task<IReadOnlyList<string>> PrimaryRegionsAsync(CancellationToken cancellationToken = default)
    {
        var primaries = new List<string>();
        foreach (var region in _environment.Regions)
        {
            if (await RoleOfAsync(region.Name, cancellationToken).ConfigureAwait(false) == "primary")
            {
                primaries.Add(region.Name);
            }
        }

        return primaries;
    }

    /// <summary>The one region whose node is the primary, waiting up to <paramref name="timeout"/> for there to be exactly one.</summary>
    /// <exception cref="TimeoutException">No single primary within the timeout (the message names what was seen).</exception>
    public async Task<string> PrimaryRegionAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var primaries = await PrimaryRegionsAsync(cancellationToken).ConfigureAwait(false);
            if (primaries.Count == 1)
            {
                return primaries[0];
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"PostgreSQL has {(primaries.Count == 0 ? "no primary" : $"{primaries.Count} primaries ({string.Join(", ", primaries)})")}; expected exactly one.");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Watches, without acting, until a node outside <paramref name="region"/> answers as primary (Patroni promoted it);
    /// returns its region. The lost or isolated region's own node may still claim to be primary meanwhile.
    /// </summary>
    /// <exception cref="TimeoutException">No node outside <paramref name="region"/> became primary within the timeout.</exception>
    public async Task<string> WaitUntilPrimaryOutsideAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        string? elected = null;
        await WaitStrategy.UntilAsync(async cancel =>
            {
                elected = (await PrimaryRegionsAsync(cancel).ConfigureAwait(false)).FirstOrDefault(primary => primary != region);
                return elected is not null;
            }, timeout, TimeSpan.FromMilliseconds(100), $"Patroni to promote a node outside {region}", cancellationToken: cancellationToken).ConfigureAwait(false);
        return elected!;
    }

    /// <summary>A region's node as the server says: primary, standby, or null when it cannot be asked (down, paused, unreachable).</summary>
    public Task<string?> RoleOfAsync(string region, CancellationToken cancellationToken = default) =>
        RoleOfAsync(region, TimeSpan.FromSeconds(2), cancellationToken);

    /// <summary>
    /// A region's node as the server says (<c>pg_is_in_recovery()</c>): primary, standby, or null when it cannot be asked
    /// (down, paused, unreachable) or gives no answer within <paramref name="answerTimeout"/> — a frozen node accepts a
    /// connection and never answers.
    /// </summary>
    public async Task<string?> RoleOfAsync(string region, TimeSpan answerTimeout, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(answerTimeout);
            var inRecovery = await ObserveScalarAsync(region, "SELECT pg_is_in_recovery()", timeout.Token).ConfigureAwait(false);
            return inRecovery is true ? "standby" : "primary";
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Inserts a marker row on the current primary and waits until every other running node reads it; returns how
    /// long that took.
    /// </summary>
    public async Task<TimeSpan> WaitUntilReplicatedAsync(string marker, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var primary = await PrimaryRegionAsync(timeout, cancellationToken).ConfigureAwait(false);
        await InsertMarkerAsync(primary, marker, cancellationToken).ConfigureAwait(false);
        foreach (var replica in _environment.Regions.Where(region => region.Name != primary && !_patroni[region.Name].HasExited))
        {
            await WaitStrategy.UntilAsync(
                cancel => HasMarkerAsync(replica.Name, marker, cancel),
                timeout,
                TimeSpan.FromMilliseconds(10),
                $"marker {marker} inserted on {primary} to be readable on {replica.Name}'s PostgreSQL",
                _patroni[replica.Name],
                cancellationToken).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Brings a lost region's database host back: its etcd member and Patroni started again if they are down. Patroni
    /// finds a leader elsewhere, rewinds the node (pg_rewind discards what it wrote after the timelines forked) and
    /// makes it a standby; returns when it reads a row written on the primary. A region whose processes still run (an
    /// isolation healed) is only awaited: Patroni rejoins it by itself.
    /// </summary>
    public async Task<TopologyOperation> RejoinAsync(string region, CancellationToken cancellationToken = default)
    {
        var node = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            if (Etcd.Members[node.Name].HasExited)
            {
                await Etcd.RestartMemberAsync(node.Name, cancellationToken).ConfigureAwait(false);
            }

            if (_patroni[node.Name].HasExited)
            {
                // Only the lost node's own segment is waited for: the other regions' PostgreSQL keep theirs attached.
                var segment = SharedMemoryIdOf(PidFileOf(node.Name));
                await DetachedServer.KillAsync(PidFileOf(node.Name), KillTimeout, cancellationToken).ConfigureAwait(false);
                await RemoveOrphanedSharedMemoryAsync(segment is null ? [] : [segment], cancellationToken).ConfigureAwait(false);
                _patroni[node.Name] = await _run.StartProcessAsync(PatroniSpec(_run, node), cancellationToken).ConfigureAwait(false);
            }

            // A rewound node accepts connections only once it has replayed past the WAL position pg_rewind saw on the
            // primary. A primary with no writes (the miniature at rest; the platform never is) adds no record, and the
            // node would wait forever: a marker row now and then while waiting is the write it needs.
            var lastMarker = 0L;
            await WaitStrategy.UntilAsync(async cancel =>
            {
                if (await IsStreamingStandbyAsync(node, cancel).ConfigureAwait(false))
                {
                    return true;
                }

                if (Stopwatch.GetElapsedTime(lastMarker) >= TimeSpan.FromSeconds(1))
                {
                    lastMarker = Stopwatch.GetTimestamp();
                    await TryWriteMarkerOnPrimaryAsync($"rejoining-{node.Name}-{lastMarker}", except: node.Name, cancel).ConfigureAwait(false);
                }

                return false;
            }, ReadyTimeout, TimeSpan.FromMilliseconds(50), $"{node.Name}'s Patroni to rejoin it as a standby", _patroni[node.Name], cancellationToken).ConfigureAwait(false);
            await WaitUntilReplicatedAsync($"rejoined-{node.Name}-{started}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"{node.Name}'s PostgreSQL rejoined by Patroni as a standby", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>
    /// The controlled switchover of the documented failback, through Patroni's REST API (<c>POST /switchover</c>):
    /// Patroni checks the candidate is caught up, shuts the leader down cleanly (every WAL record reaches the standbys),
    /// promotes the candidate and makes the former leader its standby. No acknowledged write is lost; writes fail while
    /// the switch happens. Returns when the candidate is the primary and every standby reads a row written on it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Patroni refused the switchover (its reason in the message).</exception>
    public async Task<TopologyOperation> SwitchoverToAsync(string region, CancellationToken cancellationToken = default)
    {
        var candidate = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var leader = await PrimaryRegionAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false);
            if (leader == candidate.Name)
            {
                return TopologyOperation.Since($"PostgreSQL primary already in {leader}", started);
            }

            await WaitStrategy.UntilAsync(cancel => IsStreamingStandbyAsync(candidate, cancel), ReadyTimeout, TimeSpan.FromMilliseconds(50),
                $"{candidate.Name}'s PostgreSQL to stream from {leader} before the switchover", _patroni[candidate.Name], cancellationToken).ConfigureAwait(false);
            using var response = await SwitchoverHttp.PostAsync(new Uri($"http://{_environment.Region(leader).Patroni.EndPoint}/switchover"),
                JsonBody(new Dictionary<string, string> { ["leader"] = leader, ["candidate"] = candidate.Name }), cancellationToken).ConfigureAwait(false);
            var answer = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Patroni refused the switchover from {leader} to {candidate.Name}: {(int)response.StatusCode} {answer.Trim()}");
            }

            await WaitStrategy.UntilAsync(async cancel => await RoleOfAsync(candidate.Name, cancel).ConfigureAwait(false) == "primary"
                                                          && await RoleOfAsync(leader, cancel).ConfigureAwait(false) != "primary",
                ReadyTimeout, TimeSpan.FromMilliseconds(20), $"Patroni to switch the primary over from {leader} to {candidate.Name}", cancellationToken: cancellationToken).ConfigureAwait(false);
            await WaitStrategy.UntilAsync(cancel => IsStreamingStandbyAsync(_environment.Region(leader), cancel), ReadyTimeout, TimeSpan.FromMilliseconds(50),
                $"{leader}'s PostgreSQL to follow {candidate.Name}", _patroni[leader], cancellationToken).ConfigureAwait(false);
            await WaitUntilReplicatedAsync($"switched-{candidate.Name}-{started}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"Patroni switched the PostgreSQL primary over from {leader} to {candidate.Name}", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>
    /// Patroni's maintenance mode (<c>PATCH /config {"pause": …}</c>): while paused, Patroni watches and elects nobody,
    /// so a lost primary is never replaced. For the negative control of the failover verdict, set before any fault.
    /// </summary>
    public async Task<TopologyOperation> SetMaintenanceModeAsync(bool paused, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var leader = _environment.Region(await PrimaryRegionAsync(ReadyTimeout, cancellationToken).ConfigureAwait(false));
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri($"http://{leader.Patroni.EndPoint}/config"))
        {
            Content = JsonBody(new Dictionary<string, bool> { ["pause"] = paused }),
        };
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Patroni refused {(paused ? "maintenance mode" : "to resume")}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
        }

        // Every node reads the flag from etcd at its next loop; each says so on /patroni.
        await WaitStrategy.UntilAsync(async cancel =>
            {
                foreach (var region in _environment.Regions)
                {
                    if ((await PatroniStateAsync(region, cancel).ConfigureAwait(false))?.Pause != paused)
                    {
                        return false;
                    }
                }

                return true;
            }, ReadyTimeout, TimeSpan.FromMilliseconds(50), $"every Patroni to report pause={paused}", cancellationToken: cancellationToken).ConfigureAwait(false);
        return TopologyOperation.Since(paused ? "Patroni in maintenance mode (no automatic failover)" : "Patroni out of maintenance mode", started);
    }

    /// <summary>What each region's node is doing now: role, WAL position, lag, and Patroni's and etcd's view.</summary>
    public async Task<IReadOnlyList<PostgresNodeStatus>> StatusAsync(CancellationToken cancellationToken = default)
    {
        var positions = new List<(RegionDefinition Region, string Role, string? Lsn, string? Upstream)>();
        foreach (var region in _environment.Regions)
        {
            var process = _patroni[region.Name];
            if (process.HasExited || process.IsPaused)
            {
                positions.Add((region, process.HasExited ? "down" : "paused", null, null));
                continue;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                var row = (await ObserveAsync(region.Name,
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, " +
                    "(SELECT sender_host || ':' || sender_port || ' ' || status FROM pg_stat_wal_receiver)", timeout.Token).ConfigureAwait(false))[0];
                positions.Add((region, row[0] is true ? "standby" : "primary", (string?)row[1], (string?)row[2]));
            }
            catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                positions.Add((region, $"unreachable ({exception.Message})", null, null));
            }
        }

        var etcd = await Etcd.HealthAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<PostgresNodeStatus>();
        var primaryLsn = positions.Where(position => position.Role == "primary").Select(position => position.Lsn).FirstOrDefault();
        foreach (var position in positions)
        {
            var patroni = _patroni[position.Region.Name].HasExited ? null : await PatroniStateAsync(position.Region, cancellationToken).ConfigureAwait(false);
            statuses.Add(new PostgresNodeStatus(
                position.Region.Name,
                position.Role,
                position.Lsn,
                position.Role == "standby" && primaryLsn is not null && position.Lsn is not null ? Math.Max(0, ParseLsn(primaryLsn) - ParseLsn(position.Lsn)) : null,
                position.Upstream,
                patroni is null ? null : new PatroniMemberState(patroni.Role ?? "-", patroni.State ?? "-", patroni.Timeline, patroni.Pause ?? false),
                etcd[position.Region.Name]));
        }

        return statuses;
    }

    /// <summary>A log sequence number (<c>X/Y</c>) as a byte position.</summary>
    public static long ParseLsn(string lsn)
    {
        ArgumentNullException.ThrowIfNull(lsn);
        var parts = lsn.Split('/');
        return (long.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32) + long.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>Patroni's own view of a node (<c>GET /patroni</c>), or null when its API does not answer.</summary>
    internal static async Task<PatroniNodeReport?> PatroniStateAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://{region.Patroni.EndPoint}/patroni"), cancellationToken).ConfigureAwait(false);
            return await response.Content.ReadFromJsonAsync<PatroniNodeReport>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    // Patroni's API refuses a body without Content-Length (411), which JsonContent's streaming leaves out.
    private static StringContent JsonBody<T>(T body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private async Task<bool> IsLeaderAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://{region.Patroni.EndPoint}/primary"), cancellationToken).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK && await RoleOfAsync(region.Name, cancellationToken).ConfigureAwait(false) == "primary";
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Inserts a marker row on the one node outside <paramref name="except"/> that runs as primary, if there is one now; any failure is ignored.</summary>
    private async Task TryWriteMarkerOnPrimaryAsync(string marker, string except, CancellationToken cancellationToken)
    {
        try
        {
            var primaries = (await PrimaryRegionsAsync(cancellationToken).ConfigureAwait(false)).Where(region => region != except).ToList();
            if (primaries.Count == 1)
            {
                await InsertMarkerAsync(primaries[0], marker, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
        }
    }

    /// <summary>A standby whose WAL receiver is streaming (from whichever primary Patroni pointed it at).</summary>
    private async Task<bool> IsStreamingStandbyAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        try
        {
            var status = await ObserveScalarAsync(region.Name, "SELECT pg_is_in_recovery() AND coalesce((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false)", cancellationToken).ConfigureAwait(false);
            return status is true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private string PidFileOf(string region) => Path.Combine(DataDirectory(_run, _environment.Region(region)), PidFileName);

    /// <summary>A region's PGDATA in a run.</summary>
    internal static string DataDirectory(RunDirectory run, RegionDefinition region) => run.PathOf($"{region.Name}-pg");

    /// <summary>A region's unix socket directory in a run.</summary>
    internal static string SocketDirectory(RunDirectory run, RegionDefinition region) => run.PathOf($"{region.Name}-pg-socket");

    private static string HomeDirectory(RunDirectory run, RegionDefinition region) => run.PathOf($"{region.Name}-patroni");

    private static string ConfigFile(RunDirectory run, RegionDefinition region) => Path.Combine(HomeDirectory(run, region), "patroni.yml");

    /// <summary>Every node's directories, owned by postgres (PGDATA empty: Patroni bootstraps or clones into it; one install for all), and each node's patroni.yml.</summary>
    private static async Task PrepareNodesAsync(EnvironmentDefinition environment, RunDirectory run, WalArchiving? archiving, CancellationToken cancellationToken)
    {
        var directories = environment.Regions.SelectMany(region => new[] { DataDirectory(run, region), SocketDirectory(run, region), HomeDirectory(run, region) }).ToList();
        var install = await run.StartProcessAsync(new ProcessSpec("pg-dirs", "install", "coreutils")
        {
            Arguments = ["-d", "-o", User, "-g", User, "-m", "700", .. directories],
        }, cancellationToken).ConfigureAwait(false);
        var exit = await install.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (exit.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not create {string.Join(", ", directories)} for user {User}: {string.Join(" | ", install.StandardErrorTail)}");
        }

        foreach (var region in environment.Regions)
        {
            var config = PatroniConfig.For(environment, region, DataDirectory(run, region), SocketDirectory(run, region), Path.Combine(HomeDirectory(run, region), "pgpass"), archiving);
            await File.WriteAllTextAsync(ConfigFile(run, region), config, cancellationToken).ConfigureAwait(false);
        }
    }

    // /usr/bin/patroni, not `python3 -m patroni`: a python3 earlier in PATH (pyenv) may lack psycopg2.
    private static ProcessSpec PatroniSpec(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-patroni", "/usr/bin/patroni", "patroni")
        {
            Arguments = [ConfigFile(run, region)],
            RunAsUser = User,
            HostsFile = RegionHosts.PathOf(run, region),
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            WorkingDirectory = HomeDirectory(run, region),
            Environment = new Dictionary<string, string?> { ["HOME"] = HomeDirectory(run, region), ["PYTHONUNBUFFERED"] = "1" },
        };
}

/// <summary>
/// Continuous archiving of every node's WAL: PostgreSQL's <c>archive_command</c> per region (archive_mode on) and its
/// <c>archive_timeout</c>. Node-local Patroni parameters: each region's command names its own configuration.
/// </summary>
/// <param name="CommandByRegion">The archive_command of each region's node.</param>
/// <param name="Timeout">archive_timeout: a segment is switched at least this often while there are writes (0: never forced).</param>
public sealed record WalArchiving(IReadOnlyDictionary<string, string> CommandByRegion, TimeSpan Timeout)
{
    /// <summary>
    /// When set, the primary region's node is bootstrapped from a backup instead of by initdb: Patroni's custom bootstrap
    /// (<c>method: pgbackrest</c>, <c>no_params</c>, <c>keep_existing_recovery_conf</c>) runs this restore command, starts
    /// PostgreSQL on the restored directory and leads only once its recovery has ended; the others clone it as usual.
    /// </summary>
    public string? BootstrapRestoreCommand { get; init; }
}

/// <summary>One PostgreSQL node as <see cref="PostgresTier.StatusAsync"/> saw it.</summary>
/// <param name="Region">The node's region.</param>
/// <param name="Role">primary, standby, down, paused or unreachable (with the reason), as the server says.</param>
/// <param name="Lsn">Its WAL position: written (primary) or replayed (standby).</param>
/// <param name="LagBytes">How many WAL bytes a standby trails the primary; null for others.</param>
/// <param name="Upstream">Whom a standby streams from (its gateway link) and the receiver's state.</param>
/// <param name="Patroni">Patroni's view of the node (role, state, timeline, maintenance mode), or null when its API is silent.</param>
/// <param name="Etcd">The region's etcd member: healthy, no quorum, paused or down.</param>
public sealed record PostgresNodeStatus(string Region, string Role, string? Lsn, long? LagBytes, string? Upstream, PatroniMemberState? Patroni = null, string? Etcd = null);

/// <summary>What a node's Patroni says of it.</summary>
/// <param name="Role">master (leader) or replica.</param>
/// <param name="State">running, starting, stopped, …</param>
/// <param name="Timeline">The PostgreSQL timeline it is on.</param>
/// <param name="Paused">Whether the cluster is in maintenance mode.</param>
public sealed record PatroniMemberState(string Role, string State, int? Timeline, bool Paused);

/// <summary>The part of Patroni's <c>GET /patroni</c> answer the harness reads.</summary>
internal sealed record PatroniNodeReport(
    [property: System.Text.Json.Serialization.JsonPropertyName("role")] string? Role,
    [property: System.Text.Json.Serialization.JsonPropertyName("state")] string? State,
    [property: System.Text.Json.Serialization.JsonPropertyName("timeline")] int? Timeline,
    [property: System.Text.Json.Serialization.JsonPropertyName("pause")] bool? Pause);
