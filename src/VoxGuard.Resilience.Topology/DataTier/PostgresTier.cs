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

    // How long a re-pointed standby may take to show a new primary's marker before it is rewound instead: it
    // follows in well under a second unless it received WAL the new primary never had (PROBES).
    private static readonly TimeSpan FollowTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How far a standby's WAL reaches: received (flushed) or replayed, whichever is further.</summary>
    private const string ReceivedLsnSql = "SELECT greatest(coalesce(pg_last_wal_receive_lsn(), '0/0'), coalesce(pg_last_wal_replay_lsn(), '0/0'))::text";
    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly IReadOnlyList<InterRegionLink> _plan;
    private readonly Dictionary<string, ManagedProcess> _processes;
    private readonly SemaphoreSlim _operations = new(1, 1);

    private PostgresTier(EnvironmentDefinition environment, RunDirectory run, IReadOnlyList<InterRegionLink> plan, Dictionary<string, ManagedProcess> processes)
    {
        _environment = environment;
        _run = run;
        _plan = plan;
        _processes = processes;
        PrimaryRegion = environment.Primary.Name;
    }

    /// <summary>The PostgreSQL process of each region, by region name (the latest one after a restart).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Processes => _processes;

    /// <summary>The region whose node the harness last made (or started as) the primary.</summary>
    public string PrimaryRegion { get; private set; }

    /// <summary>Every program the tier runs, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return [.. environment.Regions.Select(region => NodeSpec(run, region)), InitdbSpec(run), RewindSpec(run, environment.Primary, string.Empty)];
    }

    /// <summary>Starts every node and returns when a row inserted on the primary is readable on every replica.</summary>
    public static async Task<PostgresTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var plan = InterRegionLinkPlan.For(environment);
        await RemoveOrphanedSharedMemoryAsync(cancellationToken).ConfigureAwait(false); // what killed runs left
        ProcessSpec.EnsureInstalled(SpecsFor(environment, run));

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
                await WriteStandbyConfigAsync(run, plan, region, environment.Primary, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var region in environment.Regions)
        {
            processes[region.Name] = await StartNodeAsync(run, region, cancellationToken).ConfigureAwait(false);
        }

        var tier = new PostgresTier(environment, run, plan, processes);
        await tier.ExecuteAsync(environment.Primary.Name, "CREATE TABLE voxguard_markers (id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())", cancellationToken).ConfigureAwait(false);
        // The engines' call events: one row per acknowledged write, read back to account for every write (RPO).
        await tier.ExecuteAsync(environment.Primary.Name, "CREATE TABLE voxguard_writes (id text PRIMARY KEY, region text NOT NULL, call_id text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())", cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Inserts a marker row on the current primary and waits until every other running node reads it; returns how
    /// long that took.
    /// </summary>
    public async Task<TimeSpan> WaitUntilReplicatedAsync(string marker, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await InsertMarkerAsync(PrimaryRegion, marker, cancellationToken).ConfigureAwait(false);
        foreach (var replica in _environment.Regions.Where(region => region.Name != PrimaryRegion && !_processes[region.Name].HasExited))
        {
            if (!(bool)(await ScalarAsync(replica.Name, "SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false))!)
            {
                continue; // a former primary still running on its own (split brain) follows no one
            }

            await WaitStrategy.UntilAsync(
                cancel => HasMarkerAsync(replica.Name, marker, cancel),
                timeout,
                TimeSpan.FromMilliseconds(10),
                $"marker {marker} inserted on {PrimaryRegion} to be readable on {replica.Name}'s PostgreSQL",
                Processes[replica.Name],
                cancellationToken).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Promotes a standby to primary (pg_promote), re-points every other running standby at it (ALTER SYSTEM; a
    /// standby that received WAL the new primary never had is rewound instead) and returns when a row written on
    /// the new primary is readable on each of them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The region's node is not a running standby.</exception>
    public async Task<TopologyOperation> PromoteAsync(string region, CancellationToken cancellationToken = default)
    {
        var target = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            await EnsureStandbyAsync(target, cancellationToken).ConfigureAwait(false);
            await PromoteCoreAsync(target, cancellationToken).ConfigureAwait(false);
            await FollowPrimaryAsync(cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"promote {region}'s PostgreSQL to primary", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>
    /// The running standby that has received the most WAL, ties going to the higher-priority region: the one to
    /// promote so that no write another standby already holds is discarded (the choice Patroni makes).
    /// </summary>
    /// <exception cref="InvalidOperationException">No standby is running.</exception>
    public async Task<string> MostAdvancedStandbyAsync(CancellationToken cancellationToken = default)
    {
        var candidates = new List<(RegionDefinition Region, long Received)>();
        foreach (var region in _environment.ByPriority.Where(region => !_processes[region.Name].HasExited && !_processes[region.Name].IsPaused))
        {
            try
            {
                if ((bool)(await ScalarAsync(region.Name, "SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false))!)
                {
                    candidates.Add((region, ParseLsn((string)(await ScalarAsync(region.Name, ReceivedLsnSql, cancellationToken).ConfigureAwait(false))!)));
                }
            }
            catch (NpgsqlException)
            {
                // unreachable: not a candidate
            }
        }

        return candidates.Count == 0
            ? throw new InvalidOperationException("No PostgreSQL standby is running to promote.")
            : candidates.MaxBy(candidate => candidate.Received).Region.Name; // MaxBy keeps the first (highest priority) of equals
    }

    /// <summary>
    /// Fencing for a partition, the commit rule YugabyteDB's Raft gives: a commit is acknowledged only once
    /// <paramref name="standbys"/> standby(s) in another region flushed it (synchronous_standby_names = ANY n), so an
    /// isolated primary cannot acknowledge a write the other side will not have. Set on every node, so it holds
    /// whichever one is promoted.
    /// </summary>
    public async Task<TopologyOperation> RequireSynchronousStandbysAsync(int standbys, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(standbys);
        var started = Stopwatch.GetTimestamp();
        var names = standbys == 0 ? string.Empty : $"ANY {standbys} ({string.Join(", ", _environment.Regions.Select(region => region.Name))})";
        foreach (var region in _environment.Regions.Where(region => !_processes[region.Name].HasExited))
        {
            await ExecuteAsync(region.Name, $"ALTER SYSTEM SET synchronous_standby_names = '{names}'", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(region.Name, "SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
        }

        return TopologyOperation.Since($"PostgreSQL commits wait for {standbys} standby(s)", started);
    }

    /// <summary>
    /// Makes a failed or isolated former primary (or any node) a standby of the current primary again: kills it if it
    /// still runs, rewinds it with pg_rewind (which discards what it wrote after the timelines forked), restarts it
    /// as a standby and returns when it reads a row written on the primary.
    /// </summary>
    public async Task<TopologyOperation> RejoinAsStandbyAsync(string region, CancellationToken cancellationToken = default)
    {
        var node = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (region == PrimaryRegion)
            {
                throw new InvalidOperationException($"{region}'s PostgreSQL is the primary; promote another region first, then rejoin {region}.");
            }

            var started = Stopwatch.GetTimestamp();
            await RewindAsync(node, cancellationToken).ConfigureAwait(false);
            await WaitUntilReplicatedAsync($"rejoined-{region}-{started}", ReadyTimeout, cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"rejoin {region}'s PostgreSQL as a standby of {PrimaryRegion}", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>
    /// The controlled switchover of the documented failback: waits until <paramref name="region"/>'s standby has
    /// caught up, stops the current primary cleanly (a fast shutdown sends every WAL record to the standbys first),
    /// waits until the standby has replayed the shutdown checkpoint, promotes it, and restarts the former primary as
    /// its standby. No acknowledged write is lost; writes fail while the switch happens.
    /// </summary>
    public async Task<TopologyOperation> SwitchoverToAsync(string region, CancellationToken cancellationToken = default)
    {
        var target = _environment.Region(region);
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var former = _environment.Region(PrimaryRegion);
            await EnsureStandbyAsync(target, cancellationToken).ConfigureAwait(false);
            await WaitUntilCaughtUpAsync(target, (string)(await ScalarAsync(former.Name, "SELECT pg_current_wal_lsn()::text", cancellationToken).ConfigureAwait(false))!, cancellationToken).ConfigureAwait(false);

            await RunToCompletionAsync(_run, new ProcessSpec($"{former.Name}-pg-stop", $"{BinDirectory}/pg_ctl", "postgresql-15")
            {
                Arguments = ["stop", "-D", DataDirectory(_run, former), "-m", "fast", "-w", "-t", "30"],
                RunAsUser = User,
            }, cancellationToken).ConfigureAwait(false);
            await _processes[former.Name].WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await WaitUntilCaughtUpAsync(target, await LatestCheckpointAsync(former, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

            await PromoteCoreAsync(target, cancellationToken).ConfigureAwait(false);
            await WriteStandbyConfigAsync(_run, _plan, former, target, cancellationToken).ConfigureAwait(false);
            _processes[former.Name] = await StartNodeAsync(_run, former, cancellationToken).ConfigureAwait(false);
            await FollowPrimaryAsync(cancellationToken).ConfigureAwait(false);
            return TopologyOperation.Since($"switch the PostgreSQL primary over from {former.Name} to {region}", started);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>What each region's node is doing now: role, WAL position and how far it trails the primary.</summary>
    public async Task<IReadOnlyList<PostgresNodeStatus>> StatusAsync(CancellationToken cancellationToken = default)
    {
        var positions = new List<(RegionDefinition Region, string Role, string? Lsn, string? Upstream)>();
        foreach (var region in _environment.Regions)
        {
            var process = _processes[region.Name];
            if (process.HasExited || process.IsPaused)
            {
                positions.Add((region, process.HasExited ? "down" : "paused", null, null));
                continue;
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionStringOf(region.Name));
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new NpgsqlCommand(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, " +
                    "(SELECT sender_host || ':' || sender_port || ' ' || status FROM pg_stat_wal_receiver)", connection);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                positions.Add((region, reader.GetBoolean(0) ? "standby" : "primary", reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
            }
            catch (NpgsqlException exception)
            {
                positions.Add((region, $"unreachable ({exception.Message})", null, null));
            }
        }

        var primaryLsn = positions.Where(position => position.Region.Name == PrimaryRegion && position.Role == "primary").Select(position => position.Lsn).FirstOrDefault();
        return [.. positions.Select(position => new PostgresNodeStatus(
            position.Region.Name,
            position.Role,
            position.Lsn,
            position.Role == "standby" && primaryLsn is not null && position.Lsn is not null ? Math.Max(0, ParseLsn(primaryLsn) - ParseLsn(position.Lsn)) : null,
            position.Upstream))];
    }

    /// <summary>A log sequence number (<c>X/Y</c>) as a byte position.</summary>
    public static long ParseLsn(string lsn)
    {
        ArgumentNullException.ThrowIfNull(lsn);
        var parts = lsn.Split('/');
        return (long.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32) + long.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private async Task EnsureStandbyAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        if (_processes[region.Name].HasExited)
        {
            throw new InvalidOperationException($"{region.Name}'s PostgreSQL is not running; rejoin it as a standby first.");
        }

        if (!(bool)(await ScalarAsync(region.Name, "SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false))!)
        {
            throw new InvalidOperationException($"{region.Name}'s PostgreSQL is already a primary, not a standby.");
        }
    }

    private async Task PromoteCoreAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        // pg_promote(wait => true) returns once the node accepts writes.
        if (!(bool)(await ScalarAsync(region.Name, "SELECT pg_promote(true, 30)", cancellationToken).ConfigureAwait(false))!)
        {
            throw new InvalidOperationException($"{region.Name}'s PostgreSQL did not finish promotion within 30 s.");
        }

        // pg_rewind reads the new timeline from the control file, which only a checkpoint updates (PROBES).
        await ExecuteAsync(region.Name, "CHECKPOINT", cancellationToken).ConfigureAwait(false);
        PrimaryRegion = region.Name;
    }

    /// <summary>
    /// Re-points every running standby at the current primary; rewinds those that cannot follow it: a standby that
    /// received WAL beyond the point where the primary's timeline forked holds writes the primary never had.
    /// </summary>
    private async Task FollowPrimaryAsync(CancellationToken cancellationToken)
    {
        var primary = _environment.Region(PrimaryRegion);
        var forkPoint = await TimelineForkPointAsync(primary, cancellationToken).ConfigureAwait(false);
        var standbys = new List<RegionDefinition>();
        foreach (var region in _environment.Regions.Where(region => region.Name != PrimaryRegion && !_processes[region.Name].HasExited))
        {
            if (!(bool)(await ScalarAsync(region.Name, "SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false))!)
            {
                continue;
            }

            var received = (string?)await ScalarAsync(region.Name, ReceivedLsnSql, cancellationToken).ConfigureAwait(false);
            if (forkPoint is not null && received is not null && ParseLsn(received) > forkPoint)
            {
                await RewindAsync(region, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var conninfo = ConnInfoThroughLink(_plan, region, primary).Replace("'", "''", StringComparison.Ordinal);
            await ExecuteAsync(region.Name, $"ALTER SYSTEM SET primary_conninfo = '{conninfo}'", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(region.Name, "SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
            standbys.Add(region);
        }

        var marker = $"follow-{PrimaryRegion}-{Stopwatch.GetTimestamp()}";
        await InsertMarkerAsync(PrimaryRegion, marker, cancellationToken).ConfigureAwait(false);
        foreach (var standby in standbys)
        {
            try
            {
                await WaitStrategy.UntilAsync(cancel => HasMarkerAsync(standby.Name, marker, cancel), FollowTimeout, TimeSpan.FromMilliseconds(10),
                    $"{standby.Name}'s PostgreSQL to follow {PrimaryRegion}", _processes[standby.Name], cancellationToken).ConfigureAwait(false);
            }
            catch (ServerProcessException) when (!_processes[standby.Name].HasExited)
            {
                // Still running but not following: it diverged in a way the fork point did not show (a safety net).
                await RewindAsync(standby, cancellationToken).ConfigureAwait(false);
            }
        }

        await WaitUntilReplicatedAsync($"{marker}-verified", ReadyTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The WAL position at which the primary's current timeline forked off its parent (from the timeline's history
    /// file), or null on timeline 1, which forked off nothing.
    /// </summary>
    private async Task<long?> TimelineForkPointAsync(RegionDefinition primary, CancellationToken cancellationToken)
    {
        var timeline = Convert.ToInt32(await ScalarAsync(primary.Name, "SELECT timeline_id FROM pg_control_checkpoint()", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (timeline <= 1)
        {
            return null;
        }

        var history = (string)(await ScalarAsync(primary.Name, string.Create(CultureInfo.InvariantCulture, $"SELECT pg_read_file('pg_wal/{timeline:X8}.history')"), cancellationToken).ConfigureAwait(false))!;
        return ParseTimelineForkPoint(history, timeline);
    }

    /// <summary>
    /// Reads the fork point of <paramref name="timeline"/> from its history file: each line is
    /// <c>parent-timeline TAB switch-LSN TAB reason</c>; the last line names the switch into this timeline.
    /// </summary>
    /// <exception cref="FormatException">The text is not a timeline history.</exception>
    public static long ParseTimelineForkPoint(string history, int timeline)
    {
        ArgumentNullException.ThrowIfNull(history);
        var last = history.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(line => !line.StartsWith('#'))
            ?? throw new FormatException($"Timeline {timeline}'s history file has no entry.");
        var fields = last.Split('\t');
        if (fields.Length < 2 || !fields[1].Contains('/', StringComparison.Ordinal))
        {
            throw new FormatException($"Timeline {timeline}'s history line '{last}' has no switch position.");
        }

        return ParseLsn(fields[1]);
    }

    /// <summary>Kills the node if it runs, rewinds it from the current primary and restarts it as a standby.</summary>
    private async Task RewindAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        var primary = _environment.Region(PrimaryRegion);
        await _processes[region.Name].KillAsync(cancellationToken).ConfigureAwait(false);
        await RemoveOrphanedSharedMemoryAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(primary.Name, "CHECKPOINT", cancellationToken).ConfigureAwait(false);
        File.Delete(Path.Combine(DataDirectory(_run, region), "standby.signal")); // pg_rewind refuses a target in recovery
        await RunToCompletionAsync(_run, RewindSpec(_run, region, $"{ConnInfoThroughLink(_plan, region, primary)} dbname=postgres"), cancellationToken).ConfigureAwait(false);
        await WriteStandbyConfigAsync(_run, _plan, region, primary, cancellationToken).ConfigureAwait(false);
        _processes[region.Name] = await StartNodeAsync(_run, region, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitUntilCaughtUpAsync(RegionDefinition standby, string lsn, CancellationToken cancellationToken) =>
        await WaitStrategy.UntilAsync(
            async cancel => (bool)(await ScalarAsync(standby.Name, $"SELECT coalesce(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false)", cancel).ConfigureAwait(false))!,
            ReadyTimeout, TimeSpan.FromMilliseconds(10), $"{standby.Name}'s PostgreSQL to replay up to {lsn}", _processes[standby.Name], cancellationToken).ConfigureAwait(false);

    /// <summary>The latest checkpoint of a stopped node (its shutdown checkpoint after a clean stop), from pg_controldata.</summary>
    private async Task<string> LatestCheckpointAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        var process = await _run.StartProcessAsync(new ProcessSpec($"{region.Name}-pg-controldata", $"{BinDirectory}/pg_controldata", "postgresql-15")
        {
            Arguments = ["-D", DataDirectory(_run, region)],
            RunAsUser = User,
        }, cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);

        // Exit comes before the last output is read: without this wait the tail was sometimes still empty (a failback
        // failed on it about one run in eight). PostgreSQL 15 prints 50 lines, the checkpoint on the 6th: the tail keeps 50.
        await process.WhenOutputClosedAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var line = process.StandardOutputTail.FirstOrDefault(output => output.StartsWith("Latest checkpoint location:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"pg_controldata of {region.Name} printed no checkpoint location: {string.Join(" | ", process.StandardErrorTail)}");
        return line["Latest checkpoint location:".Length..].Trim();
    }

    private static async Task<ManagedProcess> StartNodeAsync(RunDirectory run, RegionDefinition region, CancellationToken cancellationToken)
    {
        var process = await run.StartProcessAsync(NodeSpec(run, region), cancellationToken).ConfigureAwait(false);
        await process.WaitUntilReadyAsync(WaitStrategy.Until(
            $"{region.Name}'s PostgreSQL ({region.Postgres.EndPoint}) to accept queries",
            async cancel => await AcceptsQueriesAsync(region.Postgres.EndPoint, cancel).ConfigureAwait(false)).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        return process;
    }

    private static ProcessSpec RewindSpec(RunDirectory run, RegionDefinition region, string source) =>
        new($"{region.Name}-pg-rewind", $"{BinDirectory}/pg_rewind", "postgresql-15")
        {
            Arguments = ["-D", DataDirectory(run, region), $"--source-server={source}", "--no-sync"],
            RunAsUser = User,
        };

    private async Task InsertMarkerAsync(string region, string marker, CancellationToken cancellationToken) =>
        await ExecuteAsync(region, $"INSERT INTO voxguard_markers (id) VALUES ('{marker.Replace("'", "''", StringComparison.Ordinal)}')", cancellationToken).ConfigureAwait(false);

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

    // Node identity goes on the command line (a rewind copies the source's postgresql.conf); whom a standby follows
    // goes in postgresql.auto.conf, where ALTER SYSTEM can re-point it without a restart.
    private static ProcessSpec NodeSpec(RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-pg", $"{BinDirectory}/postgres", "postgresql-15")
        {
            Arguments =
            [
                "-D", DataDirectory(run, region),
                "-c", $"listen_addresses={region.Postgres.Address}",
                "-c", $"port={region.Postgres.Port}",
                "-c", $"unix_socket_directories={SocketDirectory(run, region)}",
                "-c", $"cluster_name={region.Name}",
            ],
            RunAsUser = User,
        };

    /// <summary>The connection string a node in <paramref name="from"/> uses to reach <paramref name="to"/>'s node: its gateway link.</summary>
    private static string ConnInfoThroughLink(IReadOnlyList<InterRegionLink> plan, RegionDefinition from, RegionDefinition to)
    {
        var gateway = plan.Single(link => link.From == from.Name && link.To == to.Name && link.Service == RegionService.Postgres).Listen;
        return $"host={gateway.Address} port={gateway.Port} user={User} application_name={from.Name}";
    }

    /// <summary>Makes a stopped node a standby of <paramref name="primary"/>: standby.signal and primary_conninfo, owned by postgres.</summary>
    private static async Task WriteStandbyConfigAsync(RunDirectory run, IReadOnlyList<InterRegionLink> plan,
        RegionDefinition standby, RegionDefinition primary, CancellationToken cancellationToken)
    {
        var data = DataDirectory(run, standby);
        await WriteOwnedFileAsync(run, Path.Combine(data, "standby.signal"), string.Empty, cancellationToken).ConfigureAwait(false);
        await WriteOwnedFileAsync(run, Path.Combine(data, "postgresql.auto.conf"),
            $"# Written by VoxGuard.Resilience; ALTER SYSTEM rewrites it.\nprimary_conninfo = '{ConnInfoThroughLink(plan, standby, primary)}'\n",
            cancellationToken).ConfigureAwait(false);
    }

    // Files in a data directory must belong to postgres: pg_rewind and ALTER SYSTEM rewrite them.
    private static async Task WriteOwnedFileAsync(RunDirectory run, string path, string content, CancellationToken cancellationToken)
    {
        var staged = run.PathOf($"staged-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(staged, content, cancellationToken).ConfigureAwait(false);
        try
        {
            await RunToCompletionAsync(run, new ProcessSpec("pg-install-file", "install", "coreutils")
            {
                Arguments = ["-o", User, "-g", User, "-m", "600", staged, path],
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    private static async Task RunToCompletionAsync(RunDirectory run, ProcessSpec spec, CancellationToken cancellationToken)
    {
        var process = await run.StartProcessAsync(spec, cancellationToken).ConfigureAwait(false);
        var exit = await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (exit.ExitCode != 0)
        {
            await process.WhenOutputClosedAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // the message needs its last words
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

/// <summary>One PostgreSQL node as <see cref="PostgresTier.StatusAsync"/> saw it.</summary>
/// <param name="Region">The node's region.</param>
/// <param name="Role">primary, standby, down, paused or unreachable (with the reason).</param>
/// <param name="Lsn">Its WAL position: written (primary) or replayed (standby).</param>
/// <param name="LagBytes">How many WAL bytes a standby trails the primary; null for others.</param>
/// <param name="Upstream">Whom a standby streams from (its gateway link) and the receiver's state.</param>
public sealed record PostgresNodeStatus(string Region, string Role, string? Lsn, long? LagBytes, string? Upstream);
