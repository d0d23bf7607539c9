using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>
/// PostgreSQL backups with pgBackRest over the Patroni cluster, as the environment's <c>backups</c> section describes
/// them: one stanza, the repositories of the guide (repo1 Lagos's object storage, repo2 its replica in Abuja), full and
/// incremental backups, continuous WAL archiving, and restores into fresh data directories.
/// </summary>
/// <remarks>
/// <para>Every database host runs a pgBackRest TLS server (<c>pgbackrest server</c>, as the postgres user): it serves
/// its region's PostgreSQL to backups and its region's repositories to archiving and restores. Commands reach another
/// region's server by its <see cref="RegionHosts.PgBackRest"/> name, which inside that region is the server itself and
/// elsewhere a gateway of the links (<c>abuja-lagos-pgbackrest</c>, …): every backup, archive and restore byte between
/// regions crosses a link, and a cut link stops it. Clients and servers authenticate with certificates made for the run.</para>
/// <para>pgBackRest runs a backup only where its repository is local, so a backup to repo1 runs on Lagos's repository
/// host and reads the primary through Lagos's server; one to repo2 runs in Abuja and reads the primary through the
/// Abuja→Lagos link. PostgreSQL's <c>archive_command</c> pushes each segment to every repository, through the links.</para>
/// </remarks>
public sealed class PostgresBackups : IAsyncDisposable
{
    /// <summary>The stanza: the Patroni cluster's scope.</summary>
    public const string Stanza = PatroniConfig.Scope;

    private static readonly TimeSpan ServerReadyTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ShortCommandTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;
    private readonly PgBackRestConfig _config;
    private readonly Dictionary<string, ManagedProcess> _servers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _gateHolders;

    private PostgresBackups(EnvironmentDefinition environment, RunDirectory run)
    {
        _environment = environment;
        _run = run;
        _config = new PgBackRestConfig(environment, run);
    }

    /// <summary>The backup strategy in force.</summary>
    public BackupsDefinition Definition => _environment.Backups;

    /// <summary>
    /// The WAL archiving to start <see cref="PostgresTier"/> with (<see cref="PostgresTier.StartAsync(EnvironmentDefinition, RunDirectory, WalArchiving?, CancellationToken)"/>):
    /// each node's <c>archive_command</c> pushes to every repository once <see cref="CreateStanzaAsync"/> has run.
    /// </summary>
    public WalArchiving Archiving => new(
        _environment.Regions.ToDictionary(region => region.Name, region => _config.ArchiveCommand(region.Name), StringComparer.Ordinal),
        _environment.Backups.ArchiveTimeout);

    /// <summary>
    /// <see cref="Archiving"/> for a cluster rebuilt from <paramref name="repository"/>'s latest backup: the primary
    /// region's node is bootstrapped by pgBackRest's restore (Patroni's custom bootstrap), replaying to the end of the
    /// archived WAL; check there is a backup first (<see cref="EnsureBackupInAsync"/>).
    /// </summary>
    public WalArchiving ArchivingRestoredFrom(string repository)
    {
        var target = RepositoryNamed(repository);
        var primary = _environment.Primary.Name;
        return Archiving with
        {
            BootstrapRestoreCommand = string.Create(CultureInfo.InvariantCulture,
                $"pgbackrest --config={_config.DatabaseHostConfig(primary)} --stanza={Stanza} --repo={target.Index} restore"),
        };
    }

    /// <summary>
    /// Checks, before a cluster is rebuilt from it, that <paramref name="repository"/> can be reached from the primary
    /// region and holds a backup; returns the backup a restore would take (the latest).
    /// </summary>
    /// <exception cref="BackupException">The repository cannot be reached, or holds no backup yet.</exception>
    public async Task<PgBackRestBackupSet> EnsureBackupInAsync(string repository, CancellationToken cancellationToken = default)
    {
        var target = RepositoryNamed(repository);
        var region = _environment.Primary;
        await EnsureRepositoriesReachableAsync(region, [target], cancellationToken).ConfigureAwait(false);
        var info = await InfoAsync(region.Name, cancellationToken).ConfigureAwait(false);
        return info.LatestIn(target.Index)
            ?? throw new BackupException(BackupProblem.NoBackup,
                $"No PostgreSQL backup to rebuild the cluster from: {target.Name} ({target.Region}, {StoreOf(target.Name)}) holds no backup of stanza {Stanza} (pgBackRest info: {info.StatusMessage}). "
                + "Rebuild from the repository a topology backed up into (the environment's repository path), or take a backup first.");
    }

    /// <summary>
    /// Why <paramref name="repository"/>'s TLS server cannot be reached from <paramref name="region"/> (default: the
    /// repository's own region, where its backups and restores run), or null when a TLS handshake with it succeeds.
    /// </summary>
    public async Task<string?> WhyUnreachableAsync(string repository, string? region = null, CancellationToken cancellationToken = default)
    {
        var target = RepositoryNamed(repository);
        var host = _environment.Region(target.Region);
        return await HandshakeAsync(region is null ? host : _environment.Region(region), host, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Each repository's retention in days as its repository host runs it: <c>repoN-retention-full</c> with
    /// <c>repoN-retention-full-type=time</c>, read back from the configuration files pgBackRest uses (a repository
    /// kept by count, or not configured, is left out).
    /// </summary>
    public IReadOnlyDictionary<string, int> ConfiguredRetentionDays()
    {
        var days = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var host in _environment.Backups.Repositories.Select(repository => repository.Region).Distinct(StringComparer.Ordinal))
        {
            var path = _config.RepositoryHostConfig(host);
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (var (repository, retention) in PgBackRestConfig.TimeRetentionIn(File.ReadAllText(path)))
            {
                days[repository] = retention;
            }
        }

        return days;
    }

    /// <summary>The TLS server of each region's database host (the latest one after a restart).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Servers => _servers;

    /// <summary>Where a repository lives on disk (pgBackRest's files are in its pgbackrest folder).</summary>
    public string StoreOf(string repository) => _config.Stores.StoreOf(RepositoryNamed(repository));

    /// <summary>Every program this needs, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var config = new PgBackRestConfig(environment, run);
        return [.. environment.Regions.Select(region => ServerSpec(config, run, region))];
    }

    /// <summary>
    /// Writes the certificates and configurations, creates the repositories (owned by postgres) and starts every
    /// region's TLS server; returns once each accepts connections. Start PostgreSQL next with <see cref="Archiving"/>,
    /// then call <see cref="CreateStanzaAsync"/>.
    /// </summary>
    public static async Task<PostgresBackups> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        environment.Validate();
        ProcessSpec.EnsureInstalled(SpecsFor(environment, run));
        var backups = new PostgresBackups(environment, run);
        try
        {
            await backups.PrepareAsync(cancellationToken).ConfigureAwait(false);
            foreach (var region in environment.Regions)
            {
                await backups.StartServerAsync(region, cancellationToken).ConfigureAwait(false);
            }

            return backups;
        }
        catch
        {
            await backups.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a region's TLS server again (after a region loss); returns once it accepts connections.</summary>
    public async Task<TopologyOperation> RestartServerAsync(string region, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var definition = _environment.Region(region);
        if (_servers.TryGetValue(definition.Name, out var previous))
        {
            await previous.KillAsync(cancellationToken).ConfigureAwait(false);
        }

        await StartServerAsync(definition, cancellationToken).ConfigureAwait(false);
        return TopologyOperation.Since($"restart {definition.Name}'s pgBackRest TLS server", started);
    }

    /// <summary>
    /// Creates the stanza in every repository (on the database host of <paramref name="primaryRegion"/>, whose PostgreSQL
    /// must be the primary), opens the archive when archiving is continuous, and runs pgBackRest's <c>check</c>: a WAL
    /// switch must reach every repository, through the links, before this returns.
    /// </summary>
    public async Task<TopologyOperation> CreateStanzaAsync(string primaryRegion, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var region = _environment.Region(primaryRegion);
        await EnsureRepositoriesReachableAsync(region, _environment.Backups.Repositories, cancellationToken).ConfigureAwait(false);
        var created = await PgBackRestAsync(region, _config.DatabaseHostConfig(region.Name), ["stanza-create"], ShortCommandTimeout, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(created, $"create stanza {Stanza} in every repository from {region.Name}'s database host");

        OpenArchive(); // for good with continuous archiving, for the check alone without
        try
        {
            // check switches WAL and waits until the segment is in every repository; the switch also wakes an archiver
            // that backed off while the gate was closed.
            var check = await PgBackRestAsync(region, _config.DatabaseHostConfig(region.Name), ["check"], ShortCommandTimeout, cancellationToken).ConfigureAwait(false);
            ThrowIfFailed(check, $"check that {region.Name}'s WAL reaches every repository");
        }
        finally
        {
            if (!_environment.Backups.WalArchiving)
            {
                CloseArchive();
            }
        }

        return TopologyOperation.Since($"create stanza {Stanza} and check archiving from {region.Name}", started);
    }

    /// <summary>
    /// Takes a backup into <paramref name="repository"/>: on the repository's own host (pgBackRest backs up only to a local
    /// repository), reading the primary through the TLS servers — through a link when they are in different regions.
    /// Without continuous archiving the archive is open for the backup's own WAL only.
    /// </summary>
    /// <returns>pgBackRest's record of the new backup and how long it took.</returns>
    /// <exception cref="BackupException">There is no primary, the primary's server cannot be reached from the repository's
    /// host (<see cref="BackupProblem.PrimaryUnreachable"/>: a cut link, a dead server), or pgBackRest failed.</exception>
    public async Task<PostgresBackup> BackupAsync(PgBackRestBackupType type, string repository = "repo1", CancellationToken cancellationToken = default)
    {
        var target = RepositoryNamed(repository);
        var host = _environment.Region(target.Region);
        var option = type switch
        {
            PgBackRestBackupType.Full => "full",
            PgBackRestBackupType.Differential => "diff",
            _ => "incr",
        };
        var primary = await PrimaryRegionAsync(cancellationToken).ConfigureAwait(false);
        if (await HandshakeAsync(host, primary, cancellationToken).ConfigureAwait(false) is { } why)
        {
            throw new BackupException(BackupProblem.PrimaryUnreachable,
                $"Cannot back up into {target.Name}: the primary's server cannot be reached from {host.Name}, where the backup runs: {why}. "
                + $"Start {primary.Name}'s server (PostgresBackups.RestartServerAsync(\"{primary.Name}\")) or heal the link, or back up into a repository of {primary.Name}.");
        }

        await WriteRepositoryHostConfigAsync(host, primary, cancellationToken).ConfigureAwait(false);
        // Continuous archiving keeps the archive open all along; without it, it opens for the backup's own WAL.
        var gated = !_environment.Backups.WalArchiving;
        if (gated)
        {
            OpenArchive();
        }

        CommandResult result;
        try
        {
            result = await PgBackRestAsync(host, _config.RepositoryHostConfig(host.Name),
                [string.Create(CultureInfo.InvariantCulture, $"--repo={target.Index}"), $"--type={option}", "backup"], CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (gated)
            {
                CloseArchive();
            }
        }

        ThrowIfFailed(result, $"take a {option} backup into {target.Name} ({host.Name})");
        var info = await InfoAsync(host.Name, cancellationToken).ConfigureAwait(false);
        var set = info.LatestIn(target.Index)
            ?? throw new BackupException(BackupProblem.Failed, $"pgBackRest said the {option} backup into {target.Name} succeeded, but its info lists no backup there.");
        return new PostgresBackup(target.Name, set, result.Elapsed);
    }

    /// <summary>
    /// pgBackRest's info on the stanza, asked from <paramref name="region"/>'s database host (default: the primary region):
    /// every repository's status, backups and archived WAL range. An unreachable repository is a status in the answer.
    /// </summary>
    public Task<PgBackRestInfo> InfoAsync(string? region = null, CancellationToken cancellationToken = default) => InfoAsync(region, null, cancellationToken);

    /// <summary>
    /// pgBackRest's info on the stanza in <paramref name="repository"/> alone (every repository when null), asked from
    /// <paramref name="region"/>'s database host: another repository out of reach then costs no connection retries.
    /// </summary>
    public async Task<PgBackRestInfo> InfoAsync(string? region, string? repository, CancellationToken cancellationToken = default)
    {
        var from = region is null ? _environment.Primary : _environment.Region(region);
        List<string> arguments = ["--output=json", "info"];
        if (repository is not null)
        {
            arguments.Insert(0, string.Create(CultureInfo.InvariantCulture, $"--repo={RepositoryNamed(repository).Index}"));
        }

        var result = await PgBackRestAsync(from, _config.DatabaseHostConfig(from.Name), arguments, ShortCommandTimeout, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(result, $"read the backup info from {from.Name}");
        try
        {
            return PgBackRestInfo.Parse(string.Join('\n', result.Output), Stanza);
        }
        catch (FormatException exception)
        {
            throw new BackupException(BackupProblem.Failed, $"Could not read pgBackRest's info from {from.Name}: {exception.Message}", result.ExitCode, result.Tail, exception);
        }
    }

    /// <summary>
    /// Checks every file of <paramref name="repository"/> against its checksum (pgBackRest's <c>verify</c>, on the
    /// repository's own host). A damaged backup is a result, not an exception.
    /// </summary>
    public async Task<PgBackRestVerification> VerifyAsync(string repository, CancellationToken cancellationToken = default)
    {
        var target = RepositoryNamed(repository);
        var host = _environment.Region(target.Region);
        var result = await PgBackRestAsync(host, _config.RepositoryHostConfig(host.Name),
            [string.Create(CultureInfo.InvariantCulture, $"--repo={target.Index}"), "--output=text", "--verbose", "verify"], CommandTimeout, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(result, $"verify {target.Name} ({host.Name})");
        var report = result.Output.Where(line => line.Trim().Length > 0).Select(line => line.Trim()).ToList();
        var invalid = report.Where(line => line.StartsWith("backup: ", StringComparison.Ordinal) && line.Contains("status: invalid", StringComparison.Ordinal))
            .Select(line => line["backup: ".Length..line.IndexOf(',', StringComparison.Ordinal)])
            .ToList();
        // pgBackRest reports "status: error" and each invalid backup; a clean repository says ok (or, tersely, nothing).
        var valid = !report.Any(line => line == "status: error") && invalid.Count == 0;
        return new PgBackRestVerification(target.Name, valid, invalid, report);
    }

    /// <summary>
    /// Restores a backup into a fresh directory with pgBackRest, on <see cref="PostgresRestoreRequest.Region"/>'s database
    /// host; PostgreSQL replays WAL up to the request's target once started (<see cref="RestoredPostgres.StartAsync"/>).
    /// Refuses a directory that is not empty (a running topology's data above all), a repository that cannot be reached
    /// and a repository without a backup, each with one message saying what to do.
    /// </summary>
    /// <exception cref="BackupException">Why the restore could not be made (<see cref="BackupException.Problem"/>).</exception>
    public async Task<PostgresRestore> RestoreAsync(PostgresRestoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var region = _environment.Region(request.Region);
        var repository = request.Repository is null ? null : RepositoryNamed(request.Repository);
        EnsureFreshDirectory(request.DataDirectory);
        var repositories = repository is null ? _environment.Backups.Repositories : [repository];
        await EnsureRepositoriesReachableAsync(region, repositories, cancellationToken).ConfigureAwait(false);

        var info = await InfoAsync(region.Name, repository?.Name, cancellationToken).ConfigureAwait(false);
        if (info.Repositories.FirstOrDefault(status => status.IsUnreachable && repositories.Any(each => each.Index == status.Key)) is { } lost)
        {
            throw Unreachable(repositories.First(each => each.Index == lost.Key), region, $"pgBackRest: {lost.Message}");
        }

        var candidates = repositories.Where(each => info.BackupsIn(each.Index).Count > 0).ToList();
        if (candidates.Count == 0)
        {
            var where = string.Join(" and ", repositories.Select(each => $"{each.Name} ({each.Region})"));
            throw new BackupException(BackupProblem.NoBackup,
                $"No PostgreSQL backup to restore yet: {where} {(repositories.Count == 1 ? "holds" : "hold")} no backup of stanza {Stanza} (pgBackRest info: {info.StatusMessage}). "
                + "Take one first (PostgresBackups.BackupAsync(PgBackRestBackupType.Full)), then restore.");
        }

        if (request.Set is { } set && !candidates.Any(each => info.BackupsIn(each.Index).Any(backup => backup.Label == set)))
        {
            throw new BackupException(BackupProblem.NoBackup,
                $"No backup {set} in {string.Join(" or ", candidates.Select(each => each.Name))} (there: {string.Join(", ", candidates.SelectMany(each => info.BackupsIn(each.Index)).Select(backup => backup.Label))}). Pick one of those.");
        }

        await OneShotCommand.CreateDirectoryForAsync(_run, request.DataDirectory, PostgresTier.User, cancellationToken).ConfigureAwait(false);
        List<string> arguments = [$"--pg1-path={request.DataDirectory}"];
        if (repository is not null)
        {
            arguments.Add(string.Create(CultureInfo.InvariantCulture, $"--repo={repository.Index}"));
        }

        if (request.Set is not null)
        {
            arguments.Add($"--set={request.Set}");
        }

        arguments.AddRange(request.Target.Options);
        arguments.Add("restore");
        var result = await PgBackRestAsync(region, _config.DatabaseHostConfig(region.Name), arguments, CommandTimeout, cancellationToken).ConfigureAwait(false);
        var from = repository?.Name ?? string.Join(" or ", candidates.Select(each => each.Name));
        if (result.ExitCode == PgBackRestExit.ChecksumError)
        {
            throw new BackupException(BackupProblem.Corrupted,
                $"The backup in {from} is corrupted: pgBackRest's restore into {request.DataDirectory} found a file whose checksum does not match the backup's manifest ({result.TailText}). "
                + "Nothing was started on it. List every damaged file with PostgresBackups.VerifyAsync, then restore from another repository (Repository = \"repo2\") or an older backup (Set).",
                result.ExitCode, result.Tail);
        }

        ThrowIfFailed(result, $"restore {from} into {request.DataDirectory} on {region.Name}'s database host");
        var restored = request.Set ?? (repository is null
            ? candidates.SelectMany(each => info.BackupsIn(each.Index)).MaxBy(backup => backup.Stopped)?.Label
            : info.LatestIn(repository.Index)?.Label);
        return new PostgresRestore(region.Name, request.DataDirectory, repository?.Name, restored, request.Target, result.Elapsed);
    }

    /// <summary>Kills every TLS server (the repositories stay: they go with the run directory, or stay where the environment put them).</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_servers.Values.Select(server => server.KillAsync())).ConfigureAwait(false);
    }

    /// <summary>The spec every pgBackRest command of a region runs with: as postgres, in the region's view of host names.</summary>
    internal static ProcessSpec CommandSpec(RunDirectory run, RegionDefinition region, string config, IReadOnlyList<string> arguments) =>
        new($"{region.Name}-pgbackrest", "pgbackrest", "pgbackrest")
        {
            Arguments = [$"--config={config}", $"--stanza={Stanza}", .. arguments],
            RunAsUser = PostgresTier.User,
            HostsFile = RegionHosts.PathOf(run, region),
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            WorkingDirectory = run.PathOf("pgbackrest"),
        };

    private static ProcessSpec ServerSpec(PgBackRestConfig config, RunDirectory run, RegionDefinition region) =>
        new($"{region.Name}-pgbackrest-server", "pgbackrest", "pgbackrest")
        {
            Arguments = [$"--config={config.ServerConfig(region.Name)}", "server"],
            RunAsUser = PostgresTier.User,
            HostsFile = RegionHosts.PathOf(run, region),
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            WorkingDirectory = config.Root,
        };

    private BackupRepositoryDefinition RepositoryNamed(string name) => _config.Stores.Repository(name);

    private async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await RegionHosts.WriteAsync(_environment, _run, cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(_config.Root);
        BackupTls.Write(_config.TlsDirectory, _environment, TimeProvider.System);
        foreach (var region in _environment.Regions)
        {
            foreach (var folder in new[] { "log", "lock", "spool" })
            {
                Directory.CreateDirectory(Path.Combine(_config.RegionDirectory(region.Name), folder));
            }

            await File.WriteAllTextAsync(_config.DatabaseHostConfig(region.Name), _config.DatabaseHostText(region), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(_config.ServerConfig(region.Name), _config.ServerText(region), cancellationToken).ConfigureAwait(false);
            if (_environment.Backups.Repositories.Any(repository => repository.Region == region.Name))
            {
                await WriteRepositoryHostConfigAsync(region, _environment.Primary, cancellationToken).ConfigureAwait(false);
            }
        }

        await OneShotCommand.ChownAsync(_run, _config.Root, PostgresTier.User, cancellationToken).ConfigureAwait(false);
        foreach (var repository in _environment.Backups.Repositories)
        {
            await OneShotCommand.CreateDirectoryForAsync(_run, _config.PgBackRestRepositoryOf(repository), PostgresTier.User, cancellationToken).ConfigureAwait(false);
        }
    }

    // Ready means serving TLS, not just listening: the stanza's reachability check right after a topology's start gives a
    // handshake ProbeTimeout, and on a starved host (load average 23) a server that had only opened its port missed it.
    private async Task StartServerAsync(RegionDefinition region, CancellationToken cancellationToken)
    {
        var server = await _run.StartProcessAsync(ServerSpec(_config, _run, region), cancellationToken).ConfigureAwait(false);
        _servers[region.Name] = server;
        var serving = WaitStrategy.Until($"{region.Name}'s pgBackRest TLS server to complete a TLS handshake", async cancel =>
            await BackupTls.HandshakeAsync(_config.TlsDirectory, RegionHosts.PgBackRest(region.Name), region.PgBackRest.EndPoint, ProbeTimeout, cancel).ConfigureAwait(false) is null);
        await server.WaitUntilReadyAsync(serving.WithTimeout(ServerReadyTimeout).WithInterval(TimeSpan.FromMilliseconds(20)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The repository host's configuration naming <paramref name="primary"/> as the node to back up (written whole, then renamed).</summary>
    private async Task WriteRepositoryHostConfigAsync(RegionDefinition host, RegionDefinition primary, CancellationToken cancellationToken)
    {
        var path = _config.RepositoryHostConfig(host.Name);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, _config.RepositoryHostText(host, primary), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The region whose PostgreSQL runs as the primary now (asked of each node, as the engines do).</summary>
    private async Task<RegionDefinition> PrimaryRegionAsync(CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        foreach (var region in _environment.Regions)
        {
            var endpoint = region.Postgres.EndPoint;
            try
            {
                await using var connection = new Npgsql.NpgsqlConnection($"Host={endpoint.Address};Port={endpoint.Port};Username={PostgresTier.User};Database=postgres;Pooling=false;Timeout=3;Command Timeout=3");
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new Npgsql.NpgsqlCommand("SELECT NOT pg_is_in_recovery()", connection);
                if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                {
                    return region;
                }

                seen.Add($"{region.Name} standby");
            }
            catch (Exception exception) when (exception is Npgsql.NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                seen.Add($"{region.Name} unreachable");
            }
        }

        throw new BackupException(BackupProblem.Failed,
            $"No PostgreSQL primary to back up ({string.Join(", ", seen)}): a backup copies the primary. Wait for Patroni to elect one, then back up.");
    }

    private void OpenArchive()
    {
        lock (_gate)
        {
            if (_gateHolders++ == 0)
            {
                File.WriteAllText(_config.ArchiveGate, "WAL archiving open: archive_command pushes to the repositories.\n");
            }
        }
    }

    private void CloseArchive()
    {
        lock (_gate)
        {
            if (--_gateHolders == 0)
            {
                File.Delete(_config.ArchiveGate);
            }
        }
    }

    private Task<CommandResult> PgBackRestAsync(RegionDefinition region, string config, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        OneShotCommand.RunAsync(_run, CommandSpec(_run, region, config, arguments), timeout, cancellationToken);

    /// <summary>
    /// A repository's TLS server as <paramref name="from"/> reaches it (its own address in its region, a link's gateway
    /// elsewhere) must complete a TLS handshake with the run's client certificate: a cut link, a dead server behind a live
    /// link or a blackhole is named at once instead of after pgBackRest's connection retries.
    /// </summary>
    private async Task EnsureRepositoriesReachableAsync(RegionDefinition from, IEnumerable<BackupRepositoryDefinition> repositories, CancellationToken cancellationToken)
    {
        foreach (var repository in repositories)
        {
            if (await HandshakeAsync(from, _environment.Region(repository.Region), cancellationToken).ConfigureAwait(false) is { } why)
            {
                throw Unreachable(repository, from, why);
            }
        }
    }

    /// <summary>
    /// A TLS handshake from <paramref name="from"/> with <paramref name="host"/>'s server, where <paramref name="from"/>
    /// reaches it (its own address, or the gateway of their link); null when it succeeds, else what went wrong and where.
    /// </summary>
    private async Task<string?> HandshakeAsync(RegionDefinition from, RegionDefinition host, CancellationToken cancellationToken)
    {
        var endpoint = host.Name == from.Name
            ? host.PgBackRest.EndPoint
            : new IPEndPoint(InterRegionLinkPlan.GatewayAddress(_environment, from, host), host.PgBackRest.Port);
        var path = host.Name == from.Name ? $"{host.Name}'s pgBackRest TLS server at {endpoint}" : $"{host.Name}'s pgBackRest TLS server through link {from.Name}-{host.Name}-pgbackrest ({endpoint})";
        var why = await BackupTls.HandshakeAsync(_config.TlsDirectory, RegionHosts.PgBackRest(host.Name), endpoint, ProbeTimeout, cancellationToken).ConfigureAwait(false);
        return why is null ? null : $"{path}: {why}";
    }

    private static BackupException Unreachable(BackupRepositoryDefinition repository, RegionDefinition from, string why) =>
        new(BackupProblem.RepositoryUnreachable,
            $"Backup repository {repository.Name} ({repository.Region}) cannot be reached from {from.Name}: {why}. "
            + $"Start {repository.Region}'s server (PostgresBackups.RestartServerAsync(\"{repository.Region}\")) or heal the link, or use another repository.");

    private static void EnsureFreshDirectory(string directory)
    {
        if (!Path.IsPathRooted(directory))
        {
            throw new ArgumentException($"The restore's data directory '{directory}' must be an absolute path.", nameof(directory));
        }

        // Inside a running server's data directory is its data too, even where the directory itself is new.
        for (var parent = Path.GetDirectoryName(Path.GetFullPath(directory)); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            var parentPid = Path.Combine(parent, "postmaster.pid");
            if (File.Exists(parentPid) && DetachedServer.ProcessesOf(parentPid) is [var owner, ..])
            {
                throw new BackupException(BackupProblem.TargetInUse, string.Create(CultureInfo.InvariantCulture,
                    $"Will not restore into {directory}: it is inside {parent}, the data directory of a running PostgreSQL (pid {owner}). A restore never writes over existing data; give it a fresh directory outside every data directory."));
            }
        }

        if (!Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            return;
        }

        var pidFile = Path.Combine(directory, "postmaster.pid");
        var running = File.Exists(pidFile) ? DetachedServer.ProcessesOf(pidFile) : [];
        var whose = running.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"it is the data directory of a running PostgreSQL (pid {running[0]})")
            : "it is not empty";
        throw new BackupException(BackupProblem.TargetInUse,
            $"Will not restore into {directory}: {whose}. A restore never writes over existing data; give it a fresh directory (absent or empty).");
    }

    private static void ThrowIfFailed(CommandResult result, string what)
    {
        if (result.ExitCode == 0)
        {
            return;
        }

        var (problem, hint) = result.ExitCode switch
        {
            PgBackRestExit.HostConnectError => (BackupProblem.RepositoryUnreachable, "A pgBackRest TLS server could not be reached: check that every region's server runs and its links are up."),
            PgBackRestExit.ChecksumError => (BackupProblem.Corrupted, "A stored file does not match its checksum: run PostgresBackups.VerifyAsync to list the damage."),
            PgBackRestExit.BackupSetInvalid => (BackupProblem.NoBackup, "Take a backup first (PostgresBackups.BackupAsync)."),
            PgBackRestExit.ArchiveTimeout => (BackupProblem.Failed, "The WAL the backup needs did not reach the repository in time: check archive_command, the archive gate and every repository's link."),
            _ => (BackupProblem.Failed, "See pgBackRest's words above."),
        };
        throw new BackupException(problem,
            string.Create(CultureInfo.InvariantCulture, $"Could not {what}: pgBackRest exited with code {result.ExitCode}: {result.TailText}. {hint}"),
            result.ExitCode, result.Tail);
    }
}

/// <summary>pgBackRest's exit codes the harness tells apart (its error codes).</summary>
internal static class PgBackRestExit
{
    public const int ChecksumError = 26;
    public const int HostConnectError = 49;
    public const int BackupSetInvalid = 75;
    public const int ArchiveTimeout = 82;
}
