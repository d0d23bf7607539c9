using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Drills;

/// <summary>
/// One scenario from start to verdicts: its own topology (ACM engines behind every proxy), SIP load in the background,
/// pollers recording balancer transitions and replication lag, fault markers — all on one clock, as offsets from
/// <see cref="StartedAt"/> — and the verdicts judged from that timeline, written to the report directory.
/// </summary>
/// <remarks>
/// A scenario that ends with its topology in a known state can leave it to the next (<see cref="LeaveTopology"/>):
/// the next one of the same environment takes it only after checking that state on the servers
/// (<see cref="TopologyCondition.ProblemsAsync"/>), and starts a fresh one — saying why — when the check fails. At
/// most one topology is left at a time, and any other start disposes it first (they bind the same addresses).
/// </remarks>
public sealed class ScenarioRun : IAsyncDisposable
{
    // A server's lines in one report, at most: a scenario of minutes logs a few thousand (a replica's "could not connect"
    // every 110 ms is the most); more means a server in a loop, whose first and last lines tell it.
    private const int MaxLogLinesPerServer = 20_000;

    private static readonly SemaphoreSlim ShelfLock = new(1, 1);
    private static readonly ConcurrentQueue<WrittenReport> Written = new();
    private static LeftTopology? _left;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LagInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RoleInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RoleQueryTimeout = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<HealthTransition> _transitions = new();
    private readonly ConcurrentQueue<LagSample> _lag = new();
    private readonly ConcurrentQueue<(WriteStore Store, RoleObservation Role)> _roles = new();
    private readonly List<FaultMarker> _faults = [];
    private readonly List<TargetVerdict> _verdicts = [];
    private readonly List<ScenarioStep> _steps = [];
    private readonly Dictionary<WriteStore, WriteAccountingResult> _accounting = [];
    private readonly List<WriteLogEntry> _keptWrites = [];
    private readonly Task _pollers;
    private readonly HashSet<string> _earlierWrites;
    private volatile LocalTopology _topology;
    // Every line the servers log during the run: from the topology's first line when the run started it, from the run's
    // start when it took over one a scenario left (whose files hold that scenario's lines too). The lines of a topology
    // replaced during the run are kept before its directory goes.
    private ServerLogWindow _logWindow;
    private readonly List<ServerLogExcerpt> _replacedTopologyLogs = [];
    private TopologyCondition? _leaving;

    // The PostgreSQL nodes that answered as primary in the role poller's latest sweep: where the lag poller reads
    // pg_stat_replication (two during a split brain, none during an election).
    private volatile IReadOnlyList<string> _postgresPrimaries = [];

    private ScenarioRun(string name, LocalTopology topology, ServerLogWindow logWindow, long startedAt, bool negativeControl, string? continuesFrom)
    {
        Name = name;
        IsNegativeControl = negativeControl;
        _topology = topology;
        _logWindow = logWindow;
        StartedAt = startedAt;
        StartedAtUtc = DateTimeOffset.UtcNow;
        ContinuesFrom = continuesFrom;
        // Writes logged before this run began are not its to account for: those of the scenario that left the topology,
        // or the engines' readiness calls on a fresh one.
        _earlierWrites = [.. WriteLogsOf(topology).SelectMany(WriteLog.Read).Select(entry => entry.Id)];
        _pollers = Task.WhenAll(PollBalancerAsync(_stopping.Token), PollLagAsync(_stopping.Token), PollRolesAsync(_stopping.Token));
    }

    /// <summary>The scenario's name (report file name).</summary>
    public string Name { get; }

    /// <summary>The scenario whose topology this run took over (checked first), or null when it started its own.</summary>
    public string? ContinuesFrom { get; }

    /// <summary>True for a negative control: a configuration broken on purpose so that one target must miss. Every verdict it judges says so.</summary>
    public bool IsNegativeControl { get; }

    /// <summary>The topology under test (after <see cref="ReplaceTopologyAsync"/>, the rebuilt one).</summary>
    public LocalTopology Topology => _topology;

    /// <summary>The environment (with its profile).</summary>
    public EnvironmentDefinition Environment => Topology.Environment;

    /// <summary>The Stopwatch timestamp every offset counts from.</summary>
    public long StartedAt { get; }

    /// <summary>The wall-clock time of <see cref="StartedAt"/> (for reports; measurements use the monotonic clock).</summary>
    public DateTimeOffset StartedAtUtc { get; }

    /// <summary>The phases run so far.</summary>
    public IReadOnlyList<ScenarioStep> Steps => _steps;

    /// <summary>Time since the scenario started.</summary>
    public TimeSpan Now => Stopwatch.GetElapsedTime(StartedAt);

    /// <summary>Balancer transitions seen so far.</summary>
    public IReadOnlyList<HealthTransition> Transitions => [.. _transitions];

    /// <summary>Replication-lag samples so far.</summary>
    public IReadOnlyList<LagSample> LagSamples => [.. _lag];

    /// <summary>Every node's role in one store as polled so far (every 200 ms; a node that does not answer claims nothing).</summary>
    public IReadOnlyList<RoleObservation> RolesOf(WriteStore store) => [.. _roles.Where(entry => entry.Store == store).Select(entry => entry.Role)];

    /// <summary>
    /// Which nodes of each store answer as primary now: waits until the role poller has asked every node again after
    /// this call (a node that does not answer claims nothing), then takes each node's latest answer. Keyed by store
    /// name (Postgres, Redis).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PrimariesNowAsync(CancellationToken cancellationToken = default)
    {
        var since = Now;
        var stores = new[] { WriteStore.Postgres, WriteStore.Redis };
        // One poll round asks six nodes with a 1 s timeout each: a few rounds' worth is the bound.
        var deadline = since + TimeSpan.FromSeconds(10);
        while (Now < deadline && !stores.All(store => Environment.Regions.All(region => RolesOf(store).Any(role => role.Node == region.Name && role.At >= since))))
        {
            await Task.Delay(RoleInterval, cancellationToken).ConfigureAwait(false);
        }

        return stores.ToDictionary(store => store.ToString(), store => TargetJudge.PrimariesNow(RolesOf(store).Where(role => role.At >= since)), StringComparer.Ordinal);
    }

    /// <summary>Faults injected so far.</summary>
    public IReadOnlyList<FaultMarker> Faults => _faults;

    /// <summary>Verdicts judged so far.</summary>
    public IReadOnlyList<TargetVerdict> Verdicts => _verdicts;

    /// <summary>Starts a topology of <paramref name="environment"/> with the ACM engines and begins recording.</summary>
    /// <param name="name">The scenario's name (its report's file name).</param>
    /// <param name="environment">The environment, profile applied.</param>
    /// <param name="negativeControl">True when the environment is broken on purpose so a target must miss.</param>
    /// <param name="cancellationToken">Stops the start.</param>
    public static Task<ScenarioRun> StartAsync(string name, EnvironmentDefinition environment, bool negativeControl = false, CancellationToken cancellationToken = default) =>
        StartAsync(name, environment, new LocalTopologyOptions(), negativeControl, cancellationToken);

    /// <summary>Starts a topology of <paramref name="environment"/> with <paramref name="options"/> (e.g. backups on), the ACM engines behind every proxy, and begins recording.</summary>
    public static async Task<ScenarioRun> StartAsync(string name, EnvironmentDefinition environment, LocalTopologyOptions options, bool negativeControl = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await DisposeLeftTopologyAsync().ConfigureAwait(false);
        var topology = await LocalTopology.StartAsync(environment, ForScenarios(environment, options), cancellationToken).ConfigureAwait(false);
        // A topology of its own: its start (before the scenario's clock) is part of its story.
        return new ScenarioRun(name, topology, ServerLogWindow.FromFirstLine(topology.Run), Stopwatch.GetTimestamp(), negativeControl, continuesFrom: null);
    }

    /// <summary>
    /// What every scenario's topology runs with: the ACM engines behind every proxy and, for an environment with
    /// <c>hosts: containers</c>, the regions' containers (so the same scenarios run unchanged with --env containers).
    /// </summary>
    private static LocalTopologyOptions ForScenarios(EnvironmentDefinition environment, LocalTopologyOptions options) =>
        options with { Engines = EngineLauncher.Instance, RegionHosts = options.RegionHosts ?? ContainerRegionHosts.ForEnvironment(environment) };

    /// <summary>
    /// Takes over the topology the previous scenario left in <paramref name="condition"/> when it is of the same
    /// environment and the servers confirm that state; otherwise starts a fresh one (<see cref="ContinuesFrom"/> null).
    /// Either way the outcome, with what the check found, is the run's first step.
    /// </summary>
    /// <param name="name">The scenario's name.</param>
    /// <param name="environment">The environment, profile applied.</param>
    /// <param name="condition">The state the scenario needs (a fresh topology is <see cref="TopologyCondition.Healthy"/>).</param>
    /// <param name="negativeControl">True when the environment is broken on purpose so a target must miss.</param>
    /// <param name="cancellationToken">Stops the check or the start.</param>
    public static async Task<ScenarioRun> ContinueAsync(string name, EnvironmentDefinition environment, TopologyCondition condition, bool negativeControl = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(condition);
        var checkedAt = Stopwatch.GetTimestamp();
        var (left, finding) = await TakeLeftTopologyAsync(environment, condition, cancellationToken).ConfigureAwait(false);
        if (left is null)
        {
            var fresh = await StartAsync(name, environment, negativeControl, cancellationToken).ConfigureAwait(false);
            fresh._steps.Add(new ScenarioStep($"topology: a fresh one ({finding})", TimeSpan.Zero, TimeSpan.Zero, "passed"));
            return fresh;
        }

        var check = Stopwatch.GetElapsedTime(checkedAt);
        var run = new ScenarioRun(name, left.Topology, ServerLogWindow.Open(left.Topology.Run), Stopwatch.GetTimestamp(), negativeControl, left.Scenario);
        run._steps.Add(new ScenarioStep(string.Create(CultureInfo.InvariantCulture, $"topology: the one {left.Scenario} left, checked {condition.Name} on the servers in {check.TotalSeconds:F1} s"),
            TimeSpan.Zero, TimeSpan.Zero, "passed"));
        return run;
    }

    /// <summary>
    /// Leaves the topology, in <paramref name="condition"/>, to the next scenario instead of stopping it when this run is
    /// disposed (call it once the verdicts passed). The next one checks that state before it trusts it.
    /// </summary>
    public void LeaveTopology(TopologyCondition condition) => _leaving = condition ?? throw new ArgumentNullException(nameof(condition));

    /// <summary>Stops the topology a scenario left, if any (the suite's teardown: nothing outlives the run).</summary>
    public static async Task DisposeLeftTopologyAsync()
    {
        await ShelfLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var left = Interlocked.Exchange(ref _left, null);
            if (left is not null)
            {
                await left.Topology.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            ShelfLock.Release();
        }
    }

    private static async Task<(LeftTopology? Left, string Finding)> TakeLeftTopologyAsync(EnvironmentDefinition environment, TopologyCondition condition, CancellationToken cancellationToken)
    {
        await ShelfLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        LeftTopology? left;
        try
        {
            left = Interlocked.Exchange(ref _left, null);
        }
        finally
        {
            ShelfLock.Release();
        }

        if (left is null)
        {
            return (null, "no scenario left one");
        }

        string? mismatch = !SameEnvironment(left.Topology.Environment, environment) ? "it was of another environment or profile"
            : left.Condition != condition ? $"it was left {left.Condition.Name}, this scenario needs it {condition.Name}"
            : null;
        if (mismatch is null)
        {
            IReadOnlyList<string> problems;
            try
            {
                problems = await condition.ProblemsAsync(left.Topology, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                problems = [$"the check failed: {exception.GetType().Name}: {exception.Message}"];
            }

            if (problems.Count == 0)
            {
                return (left, "checked");
            }

            mismatch = $"{left.Scenario} left it {condition.Name}, but the check found: {string.Join("; ", problems)}";
            // Loud: a scenario that leaves its topology in a state it is not in has a bug of its own.
            await Console.Error.WriteLineAsync($"topology check FAILED — starting a fresh topology. {mismatch}").ConfigureAwait(false);
        }

        await left.Topology.DisposeAsync().ConfigureAwait(false);
        return (null, $"not the one {left.Scenario} left: {mismatch}");
    }

    // Same YAML (the negative controls' edits included) and profile: the same servers with the same configuration.
    private static bool SameEnvironment(EnvironmentDefinition left, EnvironmentDefinition wanted) =>
        left.Yaml.Length > 0 && left.Yaml == wanted.Yaml && left.Profile?.Name == wanted.Profile?.Name;

    private sealed record LeftTopology(LocalTopology Topology, TopologyCondition Condition, string Scenario);

    /// <summary>
    /// Replaces the topology under test by a new one of the same environment started with <paramref name="options"/>
    /// (the all-regions-down drill: the lost topology disposed with its run directory — every region's data —, a topology
    /// rebuilt from the backups started). The run keeps its clock, its pollers (they watch the new topology from then on),
    /// its load, and the engines' write logs: what they acknowledged before the loss still counts in every accounting.
    /// </summary>
    /// <returns>The start of the new topology, each step with its timing.</returns>
    public async Task<IReadOnlyList<TopologyOperation>> ReplaceTopologyAsync(LocalTopologyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var lost = _topology;
        // The client-side evidence and the servers' logs go before the run directory does.
        _keptWrites.AddRange(WriteLogsOf(lost).SelectMany(WriteLog.Read));
        _replacedTopologyLogs.AddRange(_logWindow.Read(MaxLogLinesPerServer));
        await lost.DisposeAsync().ConfigureAwait(false);
        _topology = await LocalTopology.StartAsync(lost.Environment, ForScenarios(lost.Environment, options), cancellationToken).ConfigureAwait(false);
        _logWindow = ServerLogWindow.FromFirstLine(_topology.Run);
        return _topology.Startup;
    }

    /// <summary>
    /// Runs one phase of the scenario (steady state, inject, observe, heal, verify) and records its timing for the
    /// report; a phase that throws is recorded as broken and the exception goes on.
    /// </summary>
    public async Task<T> StepAsync<T>(string name, Func<Task<T>> phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        var start = Now;
        try
        {
            var result = await phase().ConfigureAwait(false);
            _steps.Add(new ScenarioStep(name, start, Now, "passed"));
            return result;
        }
        catch (Exception exception)
        {
            _steps.Add(new ScenarioStep(name, start, Now, "broken", $"{exception.GetType().Name}: {exception.Message}"));
            throw;
        }
    }

    /// <summary>
    /// Records operations the topology timed itself (e.g. each step of a rebuild from backups) as steps of the phase
    /// <paramref name="within"/>, so the report shows every recovery step with its time.
    /// </summary>
    public void RecordSteps(string within, IEnumerable<TopologyOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        _steps.AddRange(operations.Select(operation => new ScenarioStep(operation.What, Offset(operation.StartedAt), Offset(operation.VerifiedAt), "passed", Within: within)));
    }

    /// <inheritdoc cref="StepAsync{T}(string, Func{Task{T}})"/>
    public Task StepAsync(string name, Func<Task> phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        return StepAsync(name, async () =>
        {
            await phase().ConfigureAwait(false);
            return true;
        });
    }

    /// <summary>Starts open-loop load through the balancer (runs in the background; await the task for every call).</summary>
    /// <param name="callsPerSecond">The rate.</param>
    /// <param name="duration">How long calls are started (at most, with <paramref name="stop"/>).</param>
    /// <param name="hold">How long each answered call is held (500 ms).</param>
    /// <param name="stop">Ends the load early once what it is there to show has been seen: no new calls, the started ones finish.</param>
    public Task<LoadResult> StartLoad(double callsPerSecond, TimeSpan duration, TimeSpan? hold = null, CancellationToken stop = default) => OpenLoopLoad.RunAsync(new LoadProfile
    {
        Target = Environment.Balancer.SipEndPoint,
        Transport = Environment.Balancer.Transport == BalancerTransport.Udp ? SipTransportKind.Udp : SipTransportKind.Tcp,
        CallsPerSecond = callsPerSecond,
        Duration = duration,
        HoldTime = hold ?? TimeSpan.FromMilliseconds(500),
        AnswerTimeout = TimeSpan.FromSeconds(5),
    }, cancellationToken: stop);

    /// <summary>Waits until <paramref name="offset"/> after the scenario's start.</summary>
    public Task UntilAsync(TimeSpan offset, CancellationToken cancellationToken = default)
    {
        var wait = offset - Now;
        return wait > TimeSpan.Zero ? Task.Delay(wait, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Injects a fault (the action), marking when it began.</summary>
    public async Task<FaultMarker> InjectAsync(string fault, Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var marker = new FaultMarker(fault, Now, null);
        _faults.Add(marker);
        await action().ConfigureAwait(false);
        return marker;
    }

    /// <summary>Marks a fault removed now.</summary>
    public void EndFault(FaultMarker marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        _faults[_faults.IndexOf(marker)] = marker with { End = Now };
    }

    /// <summary>The calls of a load run as observations on the scenario's clock.</summary>
    public IReadOnlyList<CallObservation> CallsOf(LoadResult load)
    {
        ArgumentNullException.ThrowIfNull(load);
        return [.. load.Calls.Select(call => new CallObservation(Offset(call.StartedAt), Offset(call.EndedAt), call.Succeeded, call.Region))];
    }

    /// <summary>Every write the engines logged for <paramref name="store"/>, with its ack time if acknowledged.</summary>
    public IReadOnlyList<WriteObservation> WritesOf(WriteStore store) =>
        [.. _keptWrites.Concat(WriteLogsOf(Topology).SelectMany(WriteLog.Read))
            .Where(entry => entry.Store == store && entry.Outcome != WriteOutcome.Failed && !_earlierWrites.Contains(entry.Id))
            .Select(entry => new WriteObservation(entry.Id, entry.Outcome == WriteOutcome.Acknowledged ? Offset(entry.Timestamp) : null))];

    /// <summary>The commonest reasons engines' writes failed, per engine region ("asaba: 812× Redis → lagos: Connection refused").</summary>
    public IReadOnlyList<string> WriteFailureSummary(int perRegion = 3) =>
        [.. Environment.Regions.SelectMany(region =>
        {
            var path = EngineLauncher.WriteLogPath(Topology.Run, region.Name);
            return File.Exists(path)
                ? WriteLog.Read(path).Where(entry => entry.Outcome == WriteOutcome.Failed)
                    .GroupBy(entry => $"{entry.Store} → {entry.Target}: {entry.Detail}")
                    .OrderByDescending(group => group.Count()).Take(perRegion)
                    .Select(group => $"{region.Name}: {group.Count()}× {group.Key}")
                : [];
        })];

    /// <summary>Every write id readable now on the current primary of <paramref name="store"/> (but the scenarios' before it on the same topology).</summary>
    /// <param name="store">The store.</param>
    /// <param name="primaryWait">How long to wait for PostgreSQL to have exactly one primary (default: Patroni's worst election, ttl + loop_wait + retry_timeout).</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <exception cref="TimeoutException">PostgreSQL had no single primary within <paramref name="primaryWait"/>.</exception>
    public async Task<IReadOnlyCollection<string>> ReadBackAsync(WriteStore store, TimeSpan? primaryWait = null, CancellationToken cancellationToken = default)
    {
        var ids = await ReadBackAllAsync(store, primaryWait ?? Environment.Database.WorstFailover, cancellationToken).ConfigureAwait(false);
        return _earlierWrites.Count == 0 ? ids : [.. ids.Where(id => !_earlierWrites.Contains(id))];
    }

    private async Task<IReadOnlyCollection<string>> ReadBackAllAsync(WriteStore store, TimeSpan primaryWait, CancellationToken cancellationToken)
    {
        if (store == WriteStore.Postgres)
        {
            // Whichever node the servers say is the primary now (observed, never what the harness did).
            var primary = await Topology.Postgres.PrimaryRegionAsync(primaryWait, cancellationToken).ConfigureAwait(false);
            await using var connection = new NpgsqlConnection(Topology.Postgres.ConnectionStringOf(primary));
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT id FROM voxguard_writes", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var ids = new List<string>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }

        var master = await Topology.Redis.MasterRegionAsync(cancellationToken).ConfigureAwait(false);
        var keys = (object?[])(await RespClient.CommandAsync(Topology.Redis.EndPointOf(master.Name), cancellationToken, "KEYS", RedisWriter.KeyPrefix + "*").ConfigureAwait(false))!;
        return [.. keys.Cast<string>().Select(key => key[RedisWriter.KeyPrefix.Length..])];
    }

    /// <summary>Accounts for every write of a store against what its primary holds now.</summary>
    /// <param name="store">The store.</param>
    /// <param name="faultStart">The fault the RPO counts back from.</param>
    /// <param name="primaryWait">How long to wait for PostgreSQL to have exactly one primary (see <see cref="ReadBackAsync"/>).</param>
    /// <param name="cancellationToken">Stops the read.</param>
    public async Task<WriteAccountingResult> AccountAsync(WriteStore store, TimeSpan faultStart, TimeSpan? primaryWait = null, CancellationToken cancellationToken = default) =>
        Keep(store, WriteAccounting.Account(WritesOf(store), await ReadBackAsync(store, primaryWait, cancellationToken).ConfigureAwait(false), faultStart));

    /// <summary>Keeps an accounting for the report's write lists (the last one per store wins).</summary>
    public WriteAccountingResult Keep(WriteStore store, WriteAccountingResult accounting)
    {
        _accounting[store] = accounting;
        return accounting;
    }

    /// <summary>Records a verdict (reported whether or not it passed), as this scenario's and, in a negative control, as the control's.</summary>
    public TargetVerdict Judge(TargetVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var judged = verdict with { Scenario = Name, NegativeControl = IsNegativeControl };
        _verdicts.Add(judged);
        return judged;
    }

    /// <summary>
    /// Writes <c>&lt;name&gt;.json</c> (verdicts, faults, transitions, steps) into <paramref name="directory"/> with its
    /// evidence beside it: the raw call timeline and lag samples (CSV, seconds from the start), the write lists of every
    /// accounting, the topology's state and every line its servers logged.
    /// </summary>
    public async Task WriteReportAsync(string directory, LoadResult? load, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        var attachments = new List<ScenarioAttachment>();
        async Task AttachAsync(string what, string suffix, string mediaType, string content)
        {
            var file = $"{Name}-{suffix}";
            await File.WriteAllTextAsync(Path.Combine(directory, file), content, cancellationToken).ConfigureAwait(false);
            attachments.Add(new ScenarioAttachment(what, file, mediaType));
        }

        var culture = CultureInfo.InvariantCulture;
        if (load is not null)
        {
            var calls = new StringBuilder("start_s,end_s,succeeded,region\n");
            foreach (var call in CallsOf(load))
            {
                calls.Append(culture, $"{call.Start.TotalSeconds:F4},{call.End.TotalSeconds:F4},{call.Succeeded},{call.Region}\n");
            }

            await AttachAsync("call timeline (CSV)", "calls.csv", "text/csv", calls.ToString()).ConfigureAwait(false);
        }

        var lag = new StringBuilder("at_s,replica,lag_ms\n");
        foreach (var sample in LagSamples)
        {
            lag.Append(culture, $"{sample.At.TotalSeconds:F4},{sample.Replica},{sample.Lag.TotalMilliseconds:F1}\n");
        }

        await AttachAsync("replication lag samples (CSV)", "lag.csv", "text/csv", lag.ToString()).ConfigureAwait(false);
        foreach (var (store, accounting) in _accounting)
        {
            await AttachAsync($"{store} write accounting (lost and unexpected ids)", $"writes-{store.ToString().ToLowerInvariant()}.txt", "text/plain",
                $"acknowledged {accounting.Acknowledged}, lost {accounting.Lost.Count}, unexpected {accounting.Unexpected.Count}, recovered {accounting.Recovered.Count}\n" +
                $"RPO: {(accounting.Rpo is { } rpo ? rpo.TotalSeconds.ToString("F3", culture) + " s" : "none")}\n\n" +
                $"lost:\n{string.Join('\n', accounting.Lost)}\n\nunexpected:\n{string.Join('\n', accounting.Unexpected)}\n").ConfigureAwait(false);
        }

        try
        {
            await AttachAsync("topology state at the end (balancer, stores, roles)", "topology-status.json", "application/json",
                JsonSerializer.Serialize(await Topology.StatusAsync(cancellationToken).ConfigureAwait(false), ScenarioReport.Json)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await AttachAsync("topology state at the end (balancer, stores, roles)", "topology-status.json", "application/json",
                JsonSerializer.Serialize(new { unavailable = exception.Message }, ScenarioReport.Json)).ConfigureAwait(false);
        }

        var logs = ServerLogExcerpts();
        await AttachAsync("server logs (every line of every server during the scenario)", RunLayout.ServerLogsSuffix, "text/plain", ServerLogsText(logs)).ConfigureAwait(false);

        var finishedAt = DateTimeOffset.UtcNow;
        var report = new ScenarioReport(Name, Environment.Name, Environment.Profile?.Name, StartedAtUtc, finishedAt, _verdicts, _faults, Transitions,
            LagAnalysis.Summarise(LagSamples, Environment.Replication.LagAlert), _steps, attachments)
        {
            ServerEvents = ServerEventsOf(logs),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, ScenarioReport.FileName(Name)), JsonSerializer.Serialize(report, ScenarioReport.Json), cancellationToken).ConfigureAwait(false);
        Written.Enqueue(new WrittenReport(Name, finishedAt));
    }

    /// <summary>
    /// The scenario reports this process wrote, each with its finish time: which test wrote which, even when another
    /// process (a second scenario lane) writes reports into the same directory at the same time.
    /// </summary>
    public static IReadOnlyList<WrittenReport> ReportsWritten => [.. Written];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pollers.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            // Even when a poller failed: its servers must not outlive the run — unless left to the next scenario.
            if (_leaving is not null)
            {
                await ShelfLock.WaitAsync().ConfigureAwait(false);
                try
                {
                    var previous = Interlocked.Exchange(ref _left, new LeftTopology(Topology, _leaving, Name));
                    if (previous is not null && !ReferenceEquals(previous.Topology, Topology))
                    {
                        await previous.Topology.DisposeAsync().ConfigureAwait(false);
                    }
                }
                finally
                {
                    ShelfLock.Release();
                }
            }
            else
            {
                await Topology.DisposeAsync().ConfigureAwait(false);
            }

            _stopping.Dispose();
        }
    }

    /// <summary>Every server's lines of the run's window, each with the title of its section and its process (null for a replaced topology's).</summary>
    private List<(ServerLogExcerpt Excerpt, string Title, ManagedProcess? Process)> ServerLogExcerpts() =>
    [
        .. _replacedTopologyLogs.Select(excerpt => (excerpt, $"{excerpt.Server} (the topology replaced during the scenario)", (ManagedProcess?)null)),
        .. _logWindow.Read(MaxLogLinesPerServer).Select(excerpt => (excerpt, excerpt.Server, Topology.Run.Process(excerpt.Server))),
    ];

    private string ServerLogsText(IEnumerable<(ServerLogExcerpt Excerpt, string Title, ManagedProcess? Process)> logs)
    {
        var text = new StringBuilder("Every line each server wrote during the scenario (and, when the scenario started its topology, during that start:\n" +
            "negative offsets): the UTC time the harness read it, seconds from the scenario's start, the stream.\n");
        foreach (var (excerpt, title, process) in logs)
        {
            var state = process is null ? string.Empty : $", pid {process.Pid}{(process.HasExited ? " exited" : " running")} at the end";
            var omitted = excerpt.Omitted > 0 ? $", {excerpt.Omitted} in the middle left out" : string.Empty;
            var count = excerpt.Lines.Count + excerpt.Omitted;
            text.Append(CultureInfo.InvariantCulture, $"=== {title} ({count} {(count == 1 ? "line" : "lines")}{omitted}{state})\n");
            for (var index = 0; index < excerpt.Lines.Count; index++)
            {
                if (index == excerpt.OmittedAfter && excerpt.Omitted > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"... {excerpt.Omitted} lines left out ...\n");
                }

                var line = excerpt.Lines[index];
                text.Append(CultureInfo.InvariantCulture, $"{line.At.UtcDateTime:HH:mm:ss.fff} {Offset(line.At).TotalSeconds,9:+0.000;-0.000} s {line.Stream} {line.Text}\n");
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// What the servers said about themselves from the scenario's start on (lines before it, a fresh topology's start,
    /// only tell each server's state going in: an event is a change).
    /// </summary>
    private IReadOnlyList<ServerEvent> ServerEventsOf(IEnumerable<(ServerLogExcerpt Excerpt, string Title, ManagedProcess? Process)> logs) =>
        [.. ServerLogEvents.From(logs.SelectMany(log => log.Excerpt.Lines.Select(line => (Offset(line.At), log.Excerpt.Server, line.Text))), LinkSwitchboard.RedisNames(Environment))
            .Where(serverEvent => serverEvent.At >= TimeSpan.Zero)];

    /// <summary>A wall-clock time (a log line's) as an offset on the scenario's clock.</summary>
    private TimeSpan Offset(DateTimeOffset at) => at - StartedAtUtc;

    /// <summary>The engines' write logs of <paramref name="topology"/> that exist.</summary>
    private IEnumerable<string> WriteLogsOf(LocalTopology topology) =>
        Environment.Regions.Select(region => EngineLauncher.WriteLogPath(topology.Run, region.Name)).Where(File.Exists);

    /// <summary>A Stopwatch timestamp (e.g. a <c>TopologyOperation</c>'s) as an offset on the scenario's clock.</summary>
    public TimeSpan Offset(long timestamp) => TimeSpan.FromSeconds((double)(timestamp - StartedAt) / Stopwatch.Frequency);

    private async Task PollBalancerAsync(CancellationToken cancellationToken)
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                foreach (var state in await Topology.Sip.BalancerStatesAsync(cancellationToken).ConfigureAwait(false))
                {
                    var status = state.Status.ToString().ToUpperInvariant();
                    if (!last.TryGetValue(state.Region, out var previous) || previous != status)
                    {
                        last[state.Region] = status;
                        _transitions.Enqueue(new HealthTransition(Now, $"balancer/{state.Region}", status));
                    }
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // the balancer socket busy or gone for a moment: the next poll tells
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Polls what every PostgreSQL and Redis node says it is, so a dual-primary window (split brain) shows on the
    /// timeline; role changes also become transitions ("postgres/lagos" → "primary"). Each sweep's PostgreSQL
    /// primaries are also where the lag poller samples next.
    /// </summary>
    private async Task PollRolesAsync(CancellationToken cancellationToken)
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!cancellationToken.IsCancellationRequested)
        {
            var postgresPrimaries = new List<string>();
            foreach (var region in Environment.Regions)
            {
                foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
                {
                    var role = await RoleOfAsync(store, region.Name, cancellationToken).ConfigureAwait(false);
                    var at = Now;
                    _roles.Enqueue((store, new RoleObservation(at, region.Name, role is "primary")));
                    if (store == WriteStore.Postgres && role is "primary")
                    {
                        postgresPrimaries.Add(region.Name);
                    }

                    var subject = $"{store.ToString().ToLowerInvariant()}/{region.Name}";
                    if (!last.TryGetValue(subject, out var previous) || previous != role)
                    {
                        last[subject] = role;
                        _transitions.Enqueue(new HealthTransition(at, subject, role));
                    }
                }
            }

            _postgresPrimaries = postgresPrimaries;
            await Task.Delay(RoleInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What a node says it is: primary, standby / replica, unreachable (no answer in time), or down (its process exited).</summary>
    private async Task<string> RoleOfAsync(WriteStore store, string region, CancellationToken cancellationToken)
    {
        var process = store == WriteStore.Postgres ? Topology.Postgres.Processes[region] : Topology.Redis.Processes[region];
        if (process.HasExited)
        {
            return "down";
        }

        try
        {
            if (store == WriteStore.Postgres)
            {
                return await Topology.Postgres.RoleOfAsync(region, RoleQueryTimeout, cancellationToken).ConfigureAwait(false) ?? "unreachable";
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RoleQueryTimeout);
            var reply = await RespClient.CommandAsync(Topology.Redis.EndPointOf(region), timeout.Token, "ROLE").ConfigureAwait(false);
            return reply is object?[] { Length: > 0 } fields && fields[0] is "master" ? "primary" : "replica";
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return "unreachable";
        }
    }

    private async Task PollLagAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // The primaries the role poller saw last (Patroni may have promoted another node since the previous sample).
            foreach (var primary in _postgresPrimaries)
            {
                try
                {
                    // The primary's view: time from flushing WAL until the standby reported it replayed, so the
                    // link's delay counts (a standby's own view says 0 once it has replayed what it received).
                    var replicas = await Topology.Postgres.ObserveAsync(primary, "SELECT application_name, extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication WHERE replay_lag IS NOT NULL", cancellationToken).ConfigureAwait(false);
                    var sampledAt = Now;
                    foreach (var replica in replicas)
                    {
                        _lag.Enqueue(new LagSample(sampledAt, $"{(string)replica[0]!}/postgres", TimeSpan.FromSeconds((double)replica[1]!)));
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // the primary being killed, promoted or switched over: no sample this time
                }
            }

            await Task.Delay(LagInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>A scenario report this process wrote (<see cref="ScenarioRun.ReportsWritten"/>).</summary>
/// <param name="Scenario">The scenario's name.</param>
/// <param name="FinishedAt">When the report was finished.</param>
public sealed record WrittenReport(string Scenario, DateTimeOffset FinishedAt);
