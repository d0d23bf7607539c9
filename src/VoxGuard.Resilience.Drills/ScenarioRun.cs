using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Drills;

/// <summary>
/// One scenario from start to verdicts: its own topology (ACM engines behind every proxy), SIP load in the background,
/// pollers recording balancer transitions and replication lag, fault markers — all on one clock, as offsets from
/// <see cref="StartedAt"/> — and the verdicts judged from that timeline, written to the report directory.
/// </summary>
public sealed class ScenarioRun : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LagInterval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<HealthTransition> _transitions = new();
    private readonly ConcurrentQueue<LagSample> _lag = new();
    private readonly List<FaultMarker> _faults = [];
    private readonly List<TargetVerdict> _verdicts = [];
    private readonly Task _pollers;

    private ScenarioRun(string name, LocalTopology topology, long startedAt)
    {
        Name = name;
        Topology = topology;
        StartedAt = startedAt;
        _pollers = Task.WhenAll(PollBalancerAsync(_stopping.Token), PollLagAsync(_stopping.Token));
    }

    /// <summary>The scenario's name (report file name).</summary>
    public string Name { get; }

    /// <summary>The topology under test.</summary>
    public LocalTopology Topology { get; }

    /// <summary>The environment (with its profile).</summary>
    public EnvironmentDefinition Environment => Topology.Environment;

    /// <summary>The Stopwatch timestamp every offset counts from.</summary>
    public long StartedAt { get; }

    /// <summary>Time since the scenario started.</summary>
    public TimeSpan Now => Stopwatch.GetElapsedTime(StartedAt);

    /// <summary>Balancer transitions seen so far.</summary>
    public IReadOnlyList<HealthTransition> Transitions => [.. _transitions];

    /// <summary>Replication-lag samples so far.</summary>
    public IReadOnlyList<LagSample> LagSamples => [.. _lag];

    /// <summary>Faults injected so far.</summary>
    public IReadOnlyList<FaultMarker> Faults => _faults;

    /// <summary>Verdicts judged so far.</summary>
    public IReadOnlyList<TargetVerdict> Verdicts => _verdicts;

    /// <summary>Starts a topology of <paramref name="environment"/> with the ACM engines and begins recording.</summary>
    public static async Task<ScenarioRun> StartAsync(string name, EnvironmentDefinition environment, CancellationToken cancellationToken = default)
    {
        var topology = await LocalTopology.StartAsync(environment, new LocalTopologyOptions { Engines = EngineLauncher.Instance }, cancellationToken).ConfigureAwait(false);
        return new ScenarioRun(name, topology, Stopwatch.GetTimestamp());
    }

    /// <summary>Starts open-loop load through the balancer (runs in the background; await the task for every call).</summary>
    public Task<LoadResult> StartLoad(double callsPerSecond, TimeSpan duration, TimeSpan? hold = null) => OpenLoopLoad.RunAsync(new LoadProfile
    {
        Target = Environment.Balancer.SipEndPoint,
        Transport = Environment.Balancer.Transport == BalancerTransport.Udp ? SipTransportKind.Udp : SipTransportKind.Tcp,
        CallsPerSecond = callsPerSecond,
        Duration = duration,
        HoldTime = hold ?? TimeSpan.FromMilliseconds(500),
        AnswerTimeout = TimeSpan.FromSeconds(5),
    });

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
        [.. Environment.Regions
            .Select(region => EngineLauncher.WriteLogPath(Topology.Run, region.Name))
            .Where(File.Exists)
            .SelectMany(WriteLog.Read)
            .Where(entry => entry.Store == store && entry.Outcome != WriteOutcome.Failed)
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

    /// <summary>Every write id readable now on the current primary of <paramref name="store"/>.</summary>
    public async Task<IReadOnlyCollection<string>> ReadBackAsync(WriteStore store, CancellationToken cancellationToken = default)
    {
        if (store == WriteStore.Postgres)
        {
            await using var connection = new NpgsqlConnection(Topology.Postgres.ConnectionStringOf(Topology.Postgres.PrimaryRegion));
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
    public async Task<WriteAccountingResult> AccountAsync(WriteStore store, TimeSpan faultStart, CancellationToken cancellationToken = default) =>
        WriteAccounting.Account(WritesOf(store), await ReadBackAsync(store, cancellationToken).ConfigureAwait(false), faultStart);

    /// <summary>Records a verdict (reported whether or not it passed).</summary>
    public TargetVerdict Judge(TargetVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        _verdicts.Add(verdict);
        return verdict;
    }

    /// <summary>
    /// Writes <c>&lt;name&gt;.json</c> (verdicts, faults, transitions) and <c>&lt;name&gt;-calls.csv</c> (the raw
    /// call timeline) into <paramref name="directory"/>.
    /// </summary>
    public async Task WriteReportAsync(string directory, LoadResult? load, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        var report = new ScenarioReport(Name, Environment.Name, Environment.Profile?.Name, DateTimeOffset.UtcNow, _verdicts, _faults, Transitions,
            LagAnalysis.Summarise(LagSamples, Environment.Replication.LagAlert));
        await File.WriteAllTextAsync(Path.Combine(directory, $"{Name}.json"), JsonSerializer.Serialize(report, ScenarioReport.Json), cancellationToken).ConfigureAwait(false);
        if (load is not null)
        {
            var csv = new StringBuilder("start_s,end_s,succeeded,region\n");
            foreach (var call in CallsOf(load))
            {
                csv.Append(CultureInfo.InvariantCulture, $"{call.Start.TotalSeconds:F4},{call.End.TotalSeconds:F4},{call.Succeeded},{call.Region}\n");
            }

            await File.WriteAllTextAsync(Path.Combine(directory, $"{Name}-calls.csv"), csv.ToString(), cancellationToken).ConfigureAwait(false);
        }
    }

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

        await Topology.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private TimeSpan Offset(long timestamp) => TimeSpan.FromSeconds((double)(timestamp - StartedAt) / Stopwatch.Frequency);

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

    private async Task PollLagAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var region in Environment.Regions.Where(region => region.Name != Topology.Postgres.PrimaryRegion))
            {
                var process = Topology.Postgres.Processes[region.Name];
                if (process.HasExited || process.IsPaused)
                {
                    continue;
                }

                try
                {
                    // Seconds since the last replayed transaction's commit on the primary; 0 when it has replayed all it received.
                    var lag = await Topology.Postgres.ScalarAsync(region.Name,
                        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END",
                        cancellationToken).ConfigureAwait(false);
                    if (lag is not null and not DBNull)
                    {
                        _lag.Enqueue(new LagSample(Now, $"{region.Name}/postgres", TimeSpan.FromSeconds(Convert.ToDouble(lag, CultureInfo.InvariantCulture))));
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // a node being promoted or rewound: no sample this time
                }
            }

            await Task.Delay(LagInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What a scenario writes for the drill summary and the compliance report.</summary>
public sealed record ScenarioReport(string Scenario, string Environment, string? Profile, DateTimeOffset FinishedAt, IReadOnlyList<TargetVerdict> Verdicts,
    IReadOnlyList<FaultMarker> Faults, IReadOnlyList<HealthTransition> Transitions, IReadOnlyList<LagSummary> Lag)
{
    /// <summary>The JSON settings of report files.</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>True when every verdict passed.</summary>
    public bool Passed => Verdicts.All(verdict => verdict.Passed);
}
