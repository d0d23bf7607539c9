using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>How a <see cref="TopologyControlServer"/> runs.</summary>
public sealed record TopologyControlServerOptions
{
    /// <summary>How long one request may take, waiting for the one before it included (default 3 min: a failback
    /// with the documented profile waits for slow balancer checks).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Run after every request, before it is answered (e.g. a fresh status snapshot, so that <c>status</c> run
    /// right after a fault already shows it). Its failure is ignored.</summary>
    public Func<CancellationToken, Task>? AfterRequest { get; init; }

    /// <summary>Told about every request answered (for the serving process's log). Its failure is ignored.</summary>
    public Action<TopologyControlRequest, TopologyControlResponse>? Answered { get; init; }

    /// <summary>The wall clock the answers' times are read from.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// The control channel of a served topology: a small HTTP/1.1 JSON server on 127.0.0.1 (a free port) through which
/// <c>./resilience fault …</c> and <c>failback</c>, run from another shell, act on the <see cref="LocalTopology"/> that
/// <c>up</c> serves. Its address and token go into the run's <see cref="TopologyRecord"/>, where
/// <see cref="RunningTopologies"/> finds them.
/// </summary>
/// <remarks>
/// <c>POST /requests</c> with a <see cref="TopologyControlRequest"/>; the answer is always a
/// <see cref="TopologyControlResponse"/> with status 200 (its <c>ok</c> says whether it was done); other statuses are
/// protocol errors only (403 not loopback or wrong token, 404, 405, 413, 400 unreadable JSON). Requests run one at a
/// time, each within <see cref="TopologyControlServerOptions.RequestTimeout"/>; each is checked against the topology
/// before anything is done (region and link known, region in a state the fault applies to), and whatever goes wrong
/// becomes one error in the answer: the topology keeps running.
/// </remarks>
public sealed class TopologyControlServer : IAsyncDisposable
{
    /// <summary>The header carrying <see cref="TopologyRecord.ControlToken"/>.</summary>
    public const string TokenHeader = "X-VoxGuard-Control-Token";

    /// <summary>The one route.</summary>
    public const string RequestsPath = "/requests";

    private const int MaxBodyBytes = 64 * 1024;
    private const int BindAttempts = 20;
    private static readonly TimeSpan AfterRequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly LocalTopology _topology;
    private readonly TopologyControlServerOptions _options;
    private readonly HttpListener _listener;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _handling = new();
    private readonly Task _accepting;
    private string? _current;
    private int _disposed;

    private TopologyControlServer(LocalTopology topology, TopologyControlServerOptions options, HttpListener listener, Uri address)
    {
        _topology = topology;
        _options = options;
        _listener = listener;
        Address = address;
        Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:40123/.</summary>
    public Uri Address { get; }

    /// <summary>The secret requests must carry in <see cref="TokenHeader"/>.</summary>
    public string Token { get; }

    /// <summary>
    /// Listens on a free port of 127.0.0.1 and publishes the address and token in the topology's run record.
    /// </summary>
    /// <exception cref="InvalidOperationException">The topology has no run record yet, or no port could be bound.</exception>
    public static TopologyControlServer Start(LocalTopology topology, TopologyControlServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var record = TopologyRecord.TryRead(topology.Run.Path)
            ?? throw new InvalidOperationException($"The run directory {topology.Run.Path} has no {TopologyRecord.FileName}: start the topology first.");
        var (listener, address) = Listen();
        var server = new TopologyControlServer(topology, options ?? new TopologyControlServerOptions(), listener, address);
        (record with { Control = address.ToString(), ControlToken = server.Token }).WriteTo(topology.Run);
        return server;
    }

    /// <summary>
    /// Checks and carries out one request, after the one before it has finished; never throws for a bad or failed
    /// request (the answer says what went wrong), only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<TopologyControlResponse> ExecuteAsync(TopologyControlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            request.Validate();
        }
        catch (ArgumentException exception)
        {
            return TopologyControlResponse.Failed(exception.Message);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        deadline.CancelAfter(_options.RequestTimeout);
        try
        {
            await _oneAtATime.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TopologyControlResponse.Failed(_stopping.IsCancellationRequested
                ? StoppingMessage(request)
                : $"Nothing was done: '{_current}' was still running after {Seconds(_options.RequestTimeout)}. Try '{request}' again once it has finished.");
        }

        var done = new List<TopologyOperation>();
        try
        {
            _current = request.ToString();
            var notes = await DispatchAsync(request, done, deadline.Token).ConfigureAwait(false);
            return TopologyControlResponse.Done(Reports(done), notes);
        }
        catch (RequestRefusedException refused)
        {
            return TopologyControlResponse.Failed(refused.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TopologyControlResponse.Failed(_stopping.IsCancellationRequested
                ? StoppingMessage(request)
                : $"'{request}' did not finish within {Seconds(_options.RequestTimeout)} and was abandoned{Partly(done)}. The topology keeps running: ./resilience status shows its state.",
                Reports(done));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Whatever the operation threw is the operator's error message; the topology and this server carry on.
            return TopologyControlResponse.Failed(
                $"'{request}' failed{Partly(done)}: {exception.Message} The topology keeps running: ./resilience status shows its state.", Reports(done));
        }
        finally
        {
            await AfterRequestAsync().ConfigureAwait(false);
            _current = null;
            _oneAtATime.Release();
        }
    }

    /// <summary>Stops listening, abandons requests in progress, and waits for their answers to be sent. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Close();
        await _accepting.ConfigureAwait(false);
        await Task.WhenAll(_handling.Keys).ConfigureAwait(false);
        _stopping.Dispose();
        _oneAtATime.Dispose();
    }

    private async Task<IReadOnlyList<string>> DispatchAsync(TopologyControlRequest request, List<TopologyOperation> done, CancellationToken cancellationToken)
    {
        var topology = _topology;
        switch (request.Action)
        {
            case TopologyControlActions.Kill:
                done.Add(await topology.KillRegionAsync(RunningRegion(request), cancellationToken).ConfigureAwait(false));
                return [];
            case TopologyControlActions.Crash:
                done.Add(await topology.CrashRegionAsync(RunningRegion(request), cancellationToken).ConfigureAwait(false));
                return [];
            case TopologyControlActions.Isolate:
            {
                var region = RunningRegion(request);
                var isolated = await topology.Links.IsolatedLinksAsync(region, cancellationToken).ConfigureAwait(false);
                if (isolated.Count > 0)
                {
                    throw new RequestRefusedException(
                        $"{region} is already isolated ({isolated.Count} of its links cut or blackholed). Heal it first: ./resilience fault heal {region}.");
                }

                if (request.IsolationMode == IsolationMode.Firewall && PacketFilterOf(region).IsIsolated)
                {
                    throw new RequestRefusedException($"{region} is already isolated by its packet filter. Heal it first: ./resilience fault heal {region}.");
                }

                done.Add(await topology.IsolateRegionAsync(region, request.IsolationMode, cancellationToken).ConfigureAwait(false));
                return [];
            }

            case TopologyControlActions.Drop:
            {
                var region = RunningRegion(request);
                done.Add(await PacketFilterOf(region).DropAsync(request.Loss, cancellationToken).ConfigureAwait(false));
                return [$"./resilience fault heal {region} removes it (and any other rule of {region}'s packet filter)."];
            }

            case TopologyControlActions.Heal:
            {
                // Idempotent on purpose: "heal" is a runbook's make-sure step, safe to run whatever the state.
                var region = KnownRegion(request.Region!);
                var wasIsolated = (await topology.Links.IsolatedLinksAsync(region, cancellationToken).ConfigureAwait(false)).Count > 0
                    || topology.Environment.Hosts == RegionHosting.Containers && !PacketFilterOf(region).IsClear;
                done.Add(await topology.HealRegionAsync(region, cancellationToken).ConfigureAwait(false));
                return wasIsolated ? [] : [$"{region} was not isolated: every link of it was already up and its packet filter empty (nothing changed)."];
            }

            case TopologyControlActions.Pause:
            {
                var region = RunningRegion(request);
                if (topology.ProcessesOf(region).Where(process => !process.HasExited).All(process => process.IsPaused))
                {
                    throw new RequestRefusedException($"{region} is already paused. Resume it with ./resilience fault resume {region}.");
                }

                done.Add(await topology.PauseRegionAsync(region, cancellationToken).ConfigureAwait(false));
                return [];
            }

            case TopologyControlActions.Resume:
            {
                var region = KnownRegion(request.Region!);
                if (!topology.ProcessesOf(region).Any(process => process.IsPaused))
                {
                    throw new RequestRefusedException($"{region} is not paused: no process of it is stopped. Nothing to resume.");
                }

                done.Add(await topology.ResumeRegionAsync(region, cancellationToken).ConfigureAwait(false));
                return [];
            }

            case TopologyControlActions.Shape:
            {
                var link = KnownLink(request.Link!);
                foreach (var toxic in request.Toxics!)
                {
                    done.Add(await topology.ShapeLinkAsync(link, toxic, cancellationToken).ConfigureAwait(false));
                }

                return [];
            }

            case TopologyControlActions.Unshape:
                done.Add(await topology.UnshapeLinkAsync(KnownLink(request.Link!), cancellationToken).ConfigureAwait(false));
                return [];
            case TopologyControlActions.Rejoin:
                done.AddRange(await topology.RejoinRegionAsync(KnownRegion(request.Region!), cancellationToken).ConfigureAwait(false));
                return [];
            case TopologyControlActions.Failback:
                done.AddRange(await topology.FailbackAsync(request.Region is null ? null : KnownRegion(request.Region), cancellationToken).ConfigureAwait(false));
                return [];
            case TopologyControlActions.Backup:
            {
                var repository = await ReachableRepositoryAsync(request, "backed up", cancellationToken).ConfigureAwait(false);
                if (StoresOf(request).HasFlag(TopologyStores.Postgres))
                {
                    await EnsureArchiveFlowsAsync(request, repository, cancellationToken).ConfigureAwait(false);
                }

                done.AddRange(await topology.BackUpAsync(StoresOf(request), request.BackupType, repository.Name, cancellationToken).ConfigureAwait(false));
                return [];
            }

            case TopologyControlActions.Restore:
            {
                var repository = await ReachableRepositoryAsync(request, "restored", cancellationToken).ConfigureAwait(false);
                await EnsureSomethingToRestoreAsync(request, repository, cancellationToken).ConfigureAwait(false);
                RestoredCopy copy;
                try
                {
                    copy = await topology.RestoreCopyAsync(new RestoreCopyRequest(repository.Name) { Stores = StoresOf(request), TargetTime = request.ParsedTargetTime }, cancellationToken).ConfigureAwait(false);
                }
                catch (BackupException exception) when (exception.Problem == BackupProblem.Corrupted)
                {
                    throw new RequestRefusedException(
                        $"The backup in {repository.Name} ({repository.Region}) is corrupted: {WhatWasFound(exception)} " +
                        $"Nothing was left running: the partial restore was removed. {OtherRepositoryHint(repository, request)}");
                }

                done.AddRange(copy.Steps);
                return [CopyNote(copy)];
            }

            default:
                throw new RequestRefusedException($"Unknown action '{request.Action}'.");
        }
    }

    private static TopologyStores StoresOf(TopologyControlRequest request) => request.Store switch
    {
        "postgres" => TopologyStores.Postgres,
        "redis" => TopologyStores.Redis,
        _ => TopologyStores.All,
    };

    /// <summary>
    /// The request's repository, known and within reach from its own region (where backups into it and restores from
    /// it run): its pgBackRest TLS server answers a TLS handshake. A refusal naming the problem and another repository
    /// otherwise; with backups off, a refusal saying how to turn them on.
    /// </summary>
    private async Task<BackupRepositoryDefinition> ReachableRepositoryAsync(TopologyControlRequest request, string done, CancellationToken cancellationToken)
    {
        var backups = _topology.Environment.Backups;
        if (_topology.Backups is null)
        {
            throw new RequestRefusedException(
                $"This topology runs without backups: the backups section of {_topology.Environment.Source} is missing or says enabled: false. Nothing was {done}. " +
                "Set backups.enabled: true there and start the topology again (./resilience down, then ./resilience up).");
        }

        var repository = backups.Repository(request.Repository!)
            ?? throw new RequestRefusedException(
                $"Unknown repository '{request.Repository}': the {_topology.Environment.Name} topology has {string.Join(", ", backups.Repositories.Select(each => $"{each.Name} ({each.Region})"))}. Nothing was {done}.");
        if (await _topology.Backups.WhyUnreachableAsync(repository.Name, cancellationToken: cancellationToken).ConfigureAwait(false) is { } why)
        {
            throw new RequestRefusedException(
                $"Backup repository {repository.Name} ({repository.Region}) cannot be reached: {why}. Nothing was {done}. " +
                $"{OtherRepositoryHint(repository, request)} Or bring {repository.Region} back first: ./resilience rejoin {repository.Region}.");
        }

        return repository;
    }

    /// <summary>
    /// What to use instead of <paramref name="repository"/>: the first other repository whose server runs ("Use repo2
    /// (abuja) instead: ./resilience restore --repo repo2."). A PostgreSQL backup cannot go there while
    /// <paramref name="repository"/> is out of reach (see <see cref="EnsureArchiveFlowsAsync"/>): Redis alone can.
    /// </summary>
    private string OtherRepositoryHint(BackupRepositoryDefinition repository, TopologyControlRequest request)
    {
        var other = _topology.Environment.Backups.Repositories.FirstOrDefault(each =>
            each.Name != repository.Name && _topology.Backups!.Servers.TryGetValue(each.Region, out var server) && !server.HasExited);
        if (other is null)
        {
            return "No other repository is within reach either.";
        }

        return request.Action == TopologyControlActions.Backup && StoresOf(request).HasFlag(TopologyStores.Postgres)
            ? $"Redis can be backed up into {other.Name} ({other.Region}) now: ./resilience backup --store redis --repo {other.Name}; " +
              $"a PostgreSQL backup into any repository waits for {repository.Name}, since the WAL archive stalls while one repository is out of reach."
            : $"Use {other.Name} ({other.Region}) instead: ./resilience {request.Action} --repo {other.Name}.";
    }

    /// <summary>
    /// A PostgreSQL backup waits until its own WAL is archived, and <c>archive_command</c> pushes every segment to every
    /// repository: while one of them is out of reach PostgreSQL retries the segment it refused and archives none after it,
    /// so the backup could only fail after pgBackRest's archive timeout. Refused at once instead, naming the repository.
    /// </summary>
    private async Task EnsureArchiveFlowsAsync(TopologyControlRequest request, BackupRepositoryDefinition repository, CancellationToken cancellationToken)
    {
        foreach (var other in _topology.Environment.Backups.Repositories.Where(each => each.Name != repository.Name))
        {
            if (await _topology.Backups!.WhyUnreachableAsync(other.Name, repository.Region, cancellationToken).ConfigureAwait(false) is { } why)
            {
                var redisToo = StoresOf(request).HasFlag(TopologyStores.Redis) ? " Nothing was backed up (Redis neither: --store redis backs it up alone)." : " Nothing was backed up.";
                throw new RequestRefusedException(
                    $"A PostgreSQL backup into {repository.Name} cannot complete while backup repository {other.Name} ({other.Region}) is out of reach ({why}): " +
                    $"archive_command pushes every WAL segment to every repository, so PostgreSQL retries the segment {other.Name} refused and archives none after it, " +
                    $"and the backup would wait for its own WAL until pgBackRest gives up.{redisToo} " +
                    $"Bring {other.Region} back first (./resilience rejoin {other.Region}), or back up Redis now: ./resilience backup --store redis --repo {repository.Name}.");
            }
        }
    }

    /// <summary>
    /// A refusal, before anything is restored, when the repository holds no backup of a store asked for, or none the
    /// target time can be reached from, or the target time lies ahead.
    /// </summary>
    private async Task EnsureSomethingToRestoreAsync(TopologyControlRequest request, BackupRepositoryDefinition repository, CancellationToken cancellationToken)
    {
        var stores = StoresOf(request);
        var target = request.ParsedTargetTime;
        var now = _options.TimeProvider.GetUtcNow();
        if (target > now)
        {
            throw new RequestRefusedException(
                $"Target time {Utc(target.Value)} is in the future (now {Utc(now)}): nothing archived reaches it. Nothing was restored. " +
                "Give an earlier --target-time, or leave it out to replay everything archived.");
        }

        var missing = new List<string>();
        var info = await _topology.Backups!.InfoAsync(repository.Region, repository.Name, cancellationToken).ConfigureAwait(false);
        var postgres = info.BackupsIn(repository.Index);
        if (stores.HasFlag(TopologyStores.Postgres) && postgres.Count == 0)
        {
            missing.Add("no PostgreSQL backup");
        }
        else if (stores.HasFlag(TopologyStores.Postgres) && target is { } time && !postgres.Any(backup => backup.Stopped < time))
        {
            missing.Add($"no PostgreSQL backup that ended before {Utc(time)} (the earliest ended at {Utc(postgres.Min(backup => backup.Stopped))})");
        }

        var redis = _topology.RedisBackups!.List(repository.Name);
        if (stores.HasFlag(TopologyStores.Redis) && redis.Count == 0)
        {
            missing.Add("no Redis backup");
        }
        else if (stores.HasFlag(TopologyStores.Redis) && target is { } time && !redis.Any(backup => backup.SavedAt <= time))
        {
            missing.Add($"no Redis backup saved by {Utc(time)} (the earliest was saved at {Utc(redis[0].SavedAt)})");
        }

        if (missing.Count > 0)
        {
            var store = request.Store is null or "all" ? string.Empty : $" --store {request.Store}";
            throw new RequestRefusedException(
                $"Nothing to restore{(target is null ? " yet" : string.Empty)}: {repository.Name} ({repository.Region}) holds {string.Join(" and ", missing)}. Nothing was restored. " +
                (target is null
                    ? $"Take a backup first: ./resilience backup{store} --repo {repository.Name}."
                    : "Give a later --target-time, or leave it out to restore the latest backup."));
        }
    }

    /// <summary>Where the restored copy's servers listen and how long they run.</summary>
    private static string CopyNote(RestoredCopy copy)
    {
        var servers = new List<string>();
        if (copy.Postgres is { } postgres)
        {
            servers.Add($"PostgreSQL {postgres.EndPoint} (psql -h {postgres.EndPoint.Address} -p {postgres.EndPoint.Port} -U {DataTier.PostgresTier.User}; data {postgres.Restore.DataDirectory})");
        }

        if (copy.Redis is { } redis)
        {
            servers.Add($"Redis {redis.EndPoint} (redis-cli -h {redis.EndPoint.Address} -p {redis.EndPoint.Port}; data {redis.Directory})");
        }

        return $"restored copy {copy.Number} serves {string.Join(" and ", servers)} beside the topology, until ./resilience down.";
    }

    /// <summary>What a corrupted-backup error found (the tool's finding, without the library's advice after it).</summary>
    private static string WhatWasFound(BackupException exception)
    {
        var finding = exception.Message.Split(": ", 2)[^1];
        var advice = finding.IndexOf(" Nothing was started", StringComparison.Ordinal);
        return advice < 0 ? finding : finding[..advice];
    }

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The region's name, or a refusal naming the known ones.</summary>
    private string KnownRegion(string name) =>
        _topology.Environment.Regions.FirstOrDefault(region => region.Name == name)?.Name
        ?? throw new RequestRefusedException(
            $"Unknown region '{name}': the {_topology.Environment.Name} topology has {string.Join(", ", _topology.Environment.Regions.Select(region => region.Name))}. Nothing was done.");

    /// <summary>A known region with at least one process running; a refusal when every process of it has exited.</summary>
    private string RunningRegion(TopologyControlRequest request)
    {
        var region = KnownRegion(request.Region!);
        if (_topology.ProcessesOf(region).All(process => process.HasExited))
        {
            throw new RequestRefusedException(
                $"{region} is already down: every process of it has exited. Nothing was done. Bring it back with ./resilience rejoin {region} " +
                "(as a replica, once the topology has failed over by itself; ./resilience failback returns the primaries to the primary region).");
        }

        return region;
    }

    /// <summary>The region's packet filter, or a refusal saying it needs hosts: containers (nothing done).</summary>
    private RegionPacketFilter PacketFilterOf(string region)
    {
        try
        {
            return _topology.PacketFilter(region);
        }
        catch (InvalidOperationException exception)
        {
            throw new RequestRefusedException($"{exception.Message} Nothing was done.");
        }
    }

    /// <summary>The link's name, or a refusal naming some links and where to see them all.</summary>
    private string KnownLink(string name)
    {
        var plan = _topology.Links.Plan;
        if (plan.Any(link => link.Name == name))
        {
            return name;
        }

        // Names close to what was typed first (lagos-abuja → lagos-abuja-pg, …), else the first few.
        var similar = plan.Where(link => link.Name.Contains(name, StringComparison.OrdinalIgnoreCase) || name.Contains(link.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        var examples = (similar.Count > 0 ? similar : plan).Take(6).Select(link => link.Name);
        throw new RequestRefusedException(
            $"Unknown link '{name}'. Links are named <from>-<to>-<service>, e.g. {string.Join(", ", examples)} ({plan.Count} in all; " +
            $"curl -s {_topology.LinkServer.ApiAddress}proxies lists every one, ./resilience status prints the links API). Nothing was done.");
    }

    private async Task AfterRequestAsync()
    {
        if (_options.AfterRequest is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(AfterRequestTimeout);
            await _options.AfterRequest(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A missed snapshot is retaken by up's own refresh a second later; the answer matters more.
        }
    }

    private void Tell(TopologyControlRequest request, TopologyControlResponse answer)
    {
        try
        {
            _options.Answered?.Invoke(request, answer);
        }
        catch (Exception exception) when (exception is IOException or InvalidOperationException)
        {
            // A log line that cannot be written does not change the answer.
        }
    }

    private List<OperationReport> Reports(List<TopologyOperation> done)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var nowTimestamp = Stopwatch.GetTimestamp();
        return [.. done.Select(operation => OperationReport.From(operation, now, nowTimestamp))];
    }

    private static string Partly(List<TopologyOperation> done) =>
        done.Count == 0 ? string.Empty : $" after {string.Join(", ", done.Select(operation => operation.What))}";

    private static string StoppingMessage(TopologyControlRequest request) =>
        $"The topology is stopping (./resilience down or Ctrl-C); '{request}' was abandoned.";

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:F0} s";

    private static (HttpListener Listener, Uri Address) Listen()
    {
        // HttpListener cannot bind port 0: take a free port from the kernel, then bind it; another process may win
        // the port in between, hence the retries.
        for (var attempt = 1; ; attempt++)
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            var address = new Uri($"http://127.0.0.1:{port}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(address.ToString());
            try
            {
                listener.Start();
                return (listener, address);
            }
            catch (HttpListenerException exception)
            {
                listener.Close();
                if (attempt == BindAttempts)
                {
                    throw new InvalidOperationException($"The control channel could not listen on 127.0.0.1 after {BindAttempts} attempts: {exception.Message}", exception);
                }
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // closed
            }

            var handling = HandleAsync(context);
            _handling.TryAdd(handling, 0);
            _ = handling.ContinueWith(finished => _handling.TryRemove(finished, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var request = context.Request;
            if (!IPAddress.IsLoopback(request.RemoteEndPoint.Address))
            {
                await WriteAsync(response, 403, TopologyControlResponse.Failed("The control channel answers loopback clients only.")).ConfigureAwait(false);
            }
            else if (request.Url?.AbsolutePath != RequestsPath)
            {
                await WriteAsync(response, 404, TopologyControlResponse.Failed($"No such route; POST {RequestsPath}.")).ConfigureAwait(false);
            }
            else if (request.HttpMethod != "POST")
            {
                await WriteAsync(response, 405, TopologyControlResponse.Failed($"{RequestsPath} takes POST.")).ConfigureAwait(false);
            }
            else if (!CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(request.Headers[TokenHeader] ?? string.Empty), System.Text.Encoding.UTF8.GetBytes(Token)))
            {
                await WriteAsync(response, 403, TopologyControlResponse.Failed(
                    $"Missing or wrong {TokenHeader}: use ./resilience fault …, which reads it from the run directory.")).ConfigureAwait(false);
            }
            else if (await ReadRequestAsync(request, _stopping.Token).ConfigureAwait(false) is not { } body)
            {
                // Unreadable, too large, or not all sent within ReadTimeout.
                await WriteAsync(response, 400, TopologyControlResponse.Failed($"The body is not a control request as JSON (at most {MaxBodyBytes} bytes, sent within {Seconds(ReadTimeout)}).")).ConfigureAwait(false);
            }
            else
            {
                // Not cancelled by the server stopping: the request is then abandoned and answered as such.
                var answer = await ExecuteAsync(body, CancellationToken.None).ConfigureAwait(false);
                Tell(body, answer);
                await WriteAsync(response, 200, answer).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (IsGone(exception))
        {
            // The client went away, stalled mid-body, or the server is stopping: nobody to answer; drop the connection.
            response.Abort();
            return;
        }

        try
        {
            response.Close();
        }
        catch (Exception exception) when (IsGone(exception))
        {
            // The connection is gone.
        }
    }

    private static bool IsGone(Exception exception) =>
        exception is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException;

    private static async Task<TopologyControlRequest?> ReadRequestAsync(HttpListenerRequest request, CancellationToken stopping)
    {
        if (request.ContentLength64 > MaxBodyBytes)
        {
            return null;
        }

        // A client that stalls mid-body must not hold a handler (and the server's disposal) forever.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        reading.CancelAfter(ReadTimeout);

        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await ReadWithinAsync(request.InputStream, chunk, reading.Token, stopping).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonSerializer.Deserialize<TopologyControlRequest>(buffer.ToArray(), TopologyControlJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A read that gives up at <paramref name="deadline"/> as if the body had ended (0 bytes): the body is then incomplete JSON.</summary>
    private static async Task<int> ReadWithinAsync(Stream stream, byte[] chunk, CancellationToken deadline, CancellationToken stopping)
    {
        try
        {
            // HttpListener's stream ignores the token once a read is pending; WaitAsync stops waiting for it.
            return await stream.ReadAsync(chunk, deadline).AsTask().WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, TopologyControlResponse body)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, TopologyControlJson.Options);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
    }

    /// <summary>A request the topology's state does not allow; nothing was done.</summary>
    private sealed class RequestRefusedException(string message) : Exception(message);
}

/// <summary>The JSON both ends of the control channel speak (and the game-day commands print with <c>--json</c>).</summary>
public static class TopologyControlJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
