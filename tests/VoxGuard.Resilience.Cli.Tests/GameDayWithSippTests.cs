using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>
/// The game day a new user runs, exactly: <c>./resilience up --profile ci</c> (ACM engines, <c>commit: majority</c>), a
/// third-party SIP client — SIPp following the route set — at 50 calls/s over TCP through the balancer, and
/// <c>./resilience fault kill lagos</c> as the only action. Nothing else touches the topology: the calls must come back
/// by themselves (the balancer, Sentinel and Patroni) within the 30 s failover target, split 50/50 between Abuja and
/// Asaba, and no write an engine acknowledged may be missing from the stores afterwards. Blocks 127.0.211–213.x,
/// balancer 127.0.0.210, the tests' own run root.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class GameDayWithSippTests
{
    private const int CallsPerSecond = 50;

    /// <summary>Lagos's block (127.0.211.x); Abuja and Asaba take the next two.</summary>
    private const int FirstBlock = 211;

    /// <summary>The regions left when Lagos is lost, with their blocks.</summary>
    private static readonly (string Region, int Block)[] Survivors = [("abuja", FirstBlock + 1), ("asaba", FirstBlock + 2)];
    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LoadFor = TimeSpan.FromSeconds(50);
    private static readonly TimeSpan FailoverTarget = TimeSpan.FromSeconds(30);
    private static readonly IPEndPoint Balancer = new(IPAddress.Parse("127.0.0.210"), 5060);
    private string _environmentFile = null!;
    private string _workDirectory = null!;
    private CliProcess _up = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _environmentFile = EnvironmentFile.WriteInBlocks(FirstBlock, 210);
        var yaml = await File.ReadAllTextAsync(_environmentFile);
        Assert.That(yaml, Does.Contain("commit: async"), "environments/local.yaml names its commit rule");
        await File.WriteAllTextAsync(_environmentFile, yaml.Replace("commit: async", "commit: majority", StringComparison.Ordinal));
        _workDirectory = Directory.CreateTempSubdirectory("voxguard-gameday-").FullName;
        _up = await CliProcess.StartUpAsync(_environmentFile, TimeSpan.FromSeconds(90));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await CliProcess.DownAsync(_up);
        File.Delete(_environmentFile);
        Directory.Delete(_workDirectory, recursive: true);
    }

    [Test]
    public async Task Killing_lagos_under_sipp_load_recovers_by_itself_within_30_s_splits_50_50_and_loses_no_acknowledged_write()
    {
        var scenario = Path.Combine(_workDirectory, "caller.xml");
        await File.WriteAllTextAsync(scenario, SippScenarios.CallerFollowingRouteSet);
        var callLog = Path.Combine(_workDirectory, "calls.log");
        var calls = (int)(LoadFor.TotalSeconds * CallsPerSecond);
        using var sipp = StartSipp(scenario, callLog, calls);
        using var stopWatching = new CancellationTokenSource();
        var patroni = WatchSurvivorsPatroniAsync(stopWatching.Token);

        await Task.Delay(KillAfter);
        var kill = await CliProcess.RunAsync("fault", "kill", "lagos", "--json");
        var sippExited = sipp.WaitForExit(TimeSpan.FromSeconds(120));
        await stopWatching.CancelAsync();
        var patroniChanges = await patroni;
        var (placed, answered, answeredAt) = ReadCallLog(callLog);
        Assert.That(kill.ExitCode, Is.Zero, kill.Error);
        Assert.That(sippExited, Is.True, "SIPp finished its bounded run");
        Assert.That(placed, Has.Count.EqualTo(calls), "SIPp placed every call");

        // The clock starts when the loss did (the kill's own report), not when this test asked for it: on a busy machine
        // the CLI takes seconds to start, and that is ours, not the system's. Calls are judged by when SIPp really placed
        // them, in one-second windows from the loss, like the drill's RTO (window -1 is the last second before it).
        var lossAt = LossStartedAt(kill.Output);
        var windowOf = placed.ToDictionary(call => call.Key, call => (int)Math.Floor((call.Value - lossAt).TotalSeconds));
        var (first, last) = (windowOf.Values.Min(), windowOf.Values.Max());
        var placedIn = Enumerable.Range(first, last - first + 1).ToDictionary(window => window, _ => 0);
        var answeredIn = Enumerable.Range(first, last - first + 1).ToDictionary(window => window, _ => 0);
        foreach (var (call, window) in windowOf)
        {
            placedIn[window]++;
            answeredIn[window] += answered.ContainsKey(call) ? 1 : 0;
        }

        // A window with no call placed in it is no evidence of service: it counts as down.
        bool Served(int window) => placedIn[window] > 0 && answeredIn[window] >= placedIn[window] * 0.98;
        var recoveredWindow = Enumerable.Range(0, last + 1).Where(start => Enumerable.Range(start, last - start + 1).All(Served)).Cast<int?>().FirstOrDefault();
        var failover = recoveredWindow.HasValue ? TimeSpan.FromSeconds(recoveredWindow.Value) : (TimeSpan?)null;
        var after = answered.Where(call => windowOf[call.Key] >= (recoveredWindow ?? int.MaxValue)).Select(call => call.Value).ToList();
        var abuja = after.Count == 0 ? 0 : 100.0 * after.Count(region => region == "abuja") / after.Count;
        var asaba = after.Count == 0 ? 0 : 100.0 * after.Count(region => region == "asaba") / after.Count;

        var run = Path.GetDirectoryName(Directory.EnumerateFiles(CliProcess.RunRoot, "topology.json", SearchOption.AllDirectories).Single())!;
        var lost = await LostWritesAsync(run);
        TestContext.Out.WriteLine(kill.Output);
        // Every window, answered/placed: where a slow failover spent its time; before the loss, with its slowest setup
        // (a busy machine's first calls took seconds, and a call placed just before the loss may still be setting up).
        TestContext.Out.WriteLine($"answered/placed per 1 s window before the loss: {string.Join(' ', Enumerable.Range(first, -first).Select(window => $"{answeredIn[window]}/{placedIn[window]}"))}");
        TestContext.Out.WriteLine($"answered/placed per 1 s window from the loss: {string.Join(' ', Enumerable.Range(0, last + 1).Select(window => $"{answeredIn[window]}/{placedIn[window]}"))}");
        TestContext.Out.WriteLine($"slowest setup (ms) per 1 s window before the loss: {string.Join(' ', Enumerable.Range(first, -first).Select(window => SlowestSetupIn(window)))}");
        string SlowestSetupIn(int window) =>
            answeredAt.Where(call => windowOf[call.Key] == window).Select(call => (call.Value - placed[call.Key]).TotalMilliseconds).DefaultIfEmpty(double.NaN).Max().ToString("F0", CultureInfo.InvariantCulture);
        // Where a failover's time went: what the survivors' Patroni said they were, and their engines' PostgreSQL writes.
        TestContext.Out.WriteLine($"survivors' Patroni (s from the loss: role state timeline [standbys]): {string.Join("; ", patroniChanges.Select(change => string.Create(CultureInfo.InvariantCulture, $"{(change.At - lossAt).TotalSeconds:F1} {change.Region} {change.Said}")))}");
        TestContext.Out.WriteLine($"survivors' PostgreSQL writes per 1 s window from the loss (acknowledged/failed, first failure): {SurvivorsPostgresWrites(run, lossAt, last)}");
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{answered.Count} of {calls} calls answered ({placed.Count} placed); lagos lost {(lossAt - placed.Values.Min()).TotalSeconds:F1} s in; calls back and staying back {failover?.TotalSeconds:F0} s later; after: abuja {abuja:F1} %, asaba {asaba:F1} % of {after.Count}; lost writes: postgres {lost.Postgres.Count} of {lost.PostgresAcknowledged}, redis {lost.Redis.Count} of {lost.RedisAcknowledged}"));

        Assert.Multiple(() =>
        {
            // A call placed in the last second before the loss may still be setting up when the region dies.
            Assert.That(Enumerable.Range(first, Math.Max(0, -1 - first)).All(Served), Is.True, "every call placed a second or more before the loss answered");
            Assert.That(failover, Is.Not.Null.And.LessThan(FailoverTarget), "calls come back by themselves and stay back within the failover target");
            Assert.That(last + 1 - recoveredWindow, Is.GreaterThanOrEqualTo(10), "at least 10 s of evidence that service stayed back");
            Assert.That(after, Has.None.EqualTo("lagos"));
            Assert.That(abuja, Is.InRange(40.0, 60.0), "Abuja/Asaba 50/50 after Lagos's loss (within the 20 % deviation alert)");
            Assert.That(asaba, Is.InRange(40.0, 60.0));
            Assert.That(lost.PostgresAcknowledged, Is.GreaterThan(1000));
            Assert.That(lost.Postgres, Is.Empty, "commit: majority — no PostgreSQL write an engine acknowledged is lost");
            Assert.That(lost.Redis, Is.Empty, "nor a Redis one");
        });
    }

    private Process StartSipp(string scenario, string callLog, int calls)
    {
        var start = new ProcessStartInfo("sipp")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _workDirectory,
        };
        foreach (var argument in new[]
                 {
                     Balancer.ToString(), "-sf", scenario, "-i", "127.0.0.1", "-t", "tn", "-max_socket", "1000",
                     "-m", calls.ToString(CultureInfo.InvariantCulture), "-r", CallsPerSecond.ToString(CultureInfo.InvariantCulture), "-rp", "1000",
                     "-recv_timeout", "5000", "-timeout", "90s", "-nostdin", "-trace_logs", "-log_file", callLog,
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// When each call was placed ("n placed date\ttime\tepoch"), the region that answered it ("n region") and when
    /// ("n answered date\ttime\tepoch"), from the scenario's log actions.
    /// </summary>
    private static (Dictionary<int, DateTimeOffset> Placed, Dictionary<int, string> Answered, Dictionary<int, DateTimeOffset> AnsweredAt) ReadCallLog(string callLog)
    {
        var (placed, answered, answeredAt) = (new Dictionary<int, DateTimeOffset>(), new Dictionary<int, string>(), new Dictionary<int, DateTimeOffset>());
        foreach (var fields in File.Exists(callLog) ? File.ReadLines(callLog).Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)) : [])
        {
            if (fields.Length < 2 || !int.TryParse(fields[0], CultureInfo.InvariantCulture, out var call))
            {
                continue;
            }

            switch (fields[1])
            {
                case "placed":
                    placed[call] = TimeOf(fields);
                    break;
                case "answered":
                    answeredAt.TryAdd(call, TimeOf(fields));
                    break;
                default:
                    answered.TryAdd(call, fields[1]);
                    break;
            }
        }

        return (placed, answered, answeredAt);

        // SIPp's [timestamp] ends in epoch seconds with microseconds.
        static DateTimeOffset TimeOf(string[] fields) =>
            DateTimeOffset.FromUnixTimeMilliseconds((long)(decimal.Parse(fields[^1], CultureInfo.InvariantCulture) * 1000));
    }

    /// <summary>
    /// Every change in what Abuja's and Asaba's Patroni say they are (<c>GET /patroni</c> every 0.5 s: role, state,
    /// timeline, and on a primary its standbys with their sync state) until cancelled — only read, never acted on.
    /// </summary>
    private static async Task<List<(DateTimeOffset At, string Region, string Said)>> WatchSurvivorsPatroniAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var changes = new List<(DateTimeOffset At, string Region, string Said)>();
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var (region, block) in Survivors)
            {
                string said;
                try
                {
                    using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.{block}.4:8008/patroni"), cancellationToken));
                    var node = document.RootElement;
                    string Field(string name) => node.TryGetProperty(name, out var value) ? value.ToString() : "-";
                    var standbys = node.TryGetProperty("replication", out var replication)
                        ? $" [{string.Join(' ', replication.EnumerateArray().Select(standby => $"{standby.GetProperty("application_name")}:{standby.GetProperty("sync_state")}"))}]"
                        : string.Empty;
                    said = $"{Field("role")} {Field("state")} {Field("timeline")}{standbys}";
                }
                catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    said = "no answer";
                }
                catch (OperationCanceledException)
                {
                    return changes;
                }

                if (!last.TryGetValue(region, out var previous) || previous != said)
                {
                    last[region] = said;
                    changes.Add((DateTimeOffset.UtcNow, region, said));
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return changes;
    }

    /// <summary>
    /// Abuja's and Asaba's engines' PostgreSQL writes per 1 s window from the loss, up to <paramref name="lastWindow"/>:
    /// acknowledged/failed and the first failure's target and reason, a run of alike windows as one, e.g.
    /// "1–20: 0/2003 lagos 'Failed to connect to …'; 22–43: 1154/0". Write logs time their lines on the monotonic
    /// clock, which this process shares.
    /// </summary>
    private static string SurvivorsPostgresWrites(string run, DateTimeOffset lossAt, int lastWindow)
    {
        var (monotonicNow, wallNow) = (Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow);
        var windows = Directory.EnumerateFiles(run, "*-writes.tsv")
            .Where(file => !Path.GetFileName(file).StartsWith("lagos", StringComparison.Ordinal))
            .SelectMany(WriteLog.Read)
            .Where(entry => entry.Store == WriteStore.Postgres && entry.Outcome != WriteOutcome.Attempted)
            .GroupBy(entry => (int)Math.Floor((wallNow - Stopwatch.GetElapsedTime(entry.Timestamp, monotonicNow) - lossAt).TotalSeconds))
            .Where(window => window.Key >= 0 && window.Key <= lastWindow)
            .OrderBy(window => window.Key)
            .Select(window =>
            {
                var failed = window.Where(entry => entry.Outcome == WriteOutcome.Failed).ToList();
                var detail = failed.Count == 0 ? string.Empty : failed[0].Detail ?? string.Empty;
                var why = failed.Count == 0 ? string.Empty : $" {failed[0].Target} '{detail[..Math.Min(60, detail.Length)]}'";
                return (Window: window.Key, Acknowledged: window.Count() - failed.Count, Failed: failed.Count, Kind: (window.Count() > failed.Count, why));
            })
            .ToList();
        var runs = new List<string>();
        for (var start = 0; start < windows.Count;)
        {
            var end = start;
            while (end + 1 < windows.Count && windows[end + 1].Window == windows[end].Window + 1 && windows[end + 1].Kind == windows[start].Kind)
            {
                end++;
            }

            var span = windows.GetRange(start, end - start + 1);
            var range = start == end ? $"{windows[start].Window}" : $"{windows[start].Window}–{windows[end].Window}";
            runs.Add($"{range}: {span.Sum(window => window.Acknowledged)}/{span.Sum(window => window.Failed)}{windows[start].Kind.why}");
            start = end + 1;
        }

        return string.Join("; ", runs);
    }

    /// <summary>When the loss began, as <c>fault kill --json</c> reports it: the start of the operation that loses Lagos.</summary>
    private static DateTimeOffset LossStartedAt(string killJson) =>
        JsonSerializer.Deserialize<TopologyControlResponse>(killJson, TopologyControlJson.Options)!.Operations
            .Single(operation => operation.What.Contains("lose lagos", StringComparison.Ordinal)).StartedAt;

    /// <summary>Every write the engines logged as acknowledged, read back from whichever nodes are the primaries now.</summary>
    private static async Task<(List<string> Postgres, int PostgresAcknowledged, List<string> Redis, int RedisAcknowledged)> LostWritesAsync(string run)
    {
        var entries = Directory.EnumerateFiles(run, "*-writes.tsv").SelectMany(WriteLog.Read).ToList();
        HashSet<string> Acknowledged(WriteStore store) => [.. entries.Where(entry => entry.Store == store && entry.Outcome == WriteOutcome.Acknowledged).Select(entry => entry.Id)];
        var postgresAcknowledged = Acknowledged(WriteStore.Postgres);
        var redisAcknowledged = Acknowledged(WriteStore.Redis);

        var postgresRead = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in new[] { FirstBlock, FirstBlock + 1, FirstBlock + 2 })
        {
            await using var connection = new NpgsqlConnection($"Host=127.0.{block}.4;Port=5432;Username=postgres;Database=postgres;Pooling=false;Timeout=3");
            try
            {
                await connection.OpenAsync();
            }
            catch (NpgsqlException)
            {
                continue; // lagos, lost
            }

            await using var role = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
            if ((bool)(await role.ExecuteScalarAsync())!)
            {
                continue;
            }

            await using var read = new NpgsqlCommand("SELECT id FROM voxguard_writes", connection);
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                postgresRead.Add(reader.GetString(0));
            }
        }

        var redisRead = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, block) in Survivors)
        {
            var endpoint = new IPEndPoint(IPAddress.Parse($"127.0.{block}.3"), 6379);
            if (await RespClient.CommandAsync(endpoint, CancellationToken.None, "ROLE") is object?[] { Length: > 0 } role && role[0] is "master")
            {
                var keys = (object?[])(await RespClient.CommandAsync(endpoint, CancellationToken.None, "KEYS", RedisWriter.KeyPrefix + "*"))!;
                redisRead.UnionWith(keys.Cast<string>().Select(key => key[RedisWriter.KeyPrefix.Length..]));
            }
        }

        return ([.. postgresAcknowledged.Except(postgresRead)], postgresAcknowledged.Count, [.. redisAcknowledged.Except(redisRead)], redisAcknowledged.Count);
    }
}
