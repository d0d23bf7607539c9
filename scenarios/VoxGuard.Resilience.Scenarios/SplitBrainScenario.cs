using System.Globalization;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Topology;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 4, Lagos isolation (split brain): Lagos cut off from the other regions by its links alone, its processes
/// alive and its clients (the balancer) still reaching it, under load. The topology acts by itself: Lagos's Patroni
/// loses the etcd quorum and demotes its node, the majority's Patroni promotes a standby once the leader key expires,
/// Sentinel elects a new Redis master. After healing, Lagos rejoins (the documented procedure). Measured: the
/// dual-primary window of each store (polled roles) and every acknowledged write lost — which asserts the guide's
/// promise that split brain is prevented.
/// </summary>
/// <remarks>
/// Two configurations, both the environment's own (<c>database.commit</c>). async (PostgreSQL's default, Sentinel
/// alone): the isolated Lagos acknowledges writes until Patroni demotes it and Redis keeps taking them; the promise
/// is not kept and the verdict says so (drill suite only — it misses by design of the setup, not of the harness).
/// majority (the commit rule YugabyteDB's Raft gives: Patroni's strict synchronous mode, a commit waits for every
/// standby it reaches in the other regions, at least one; Redis min-replicas-to-write 1): the isolated side cannot
/// acknowledge what the majority will not have; that one gates.
/// </remarks>
[TestFixture]
[NonParallelizable]
[Category(ScenarioShares.OwnTopologyCategory)]
[AllureScenario("Split brain", AllureSeverity.Blocker, "split-brain", "rpo")]
public sealed class SplitBrainScenario
{
    private static readonly TimeSpan IsolateAt = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MinimumPartition = TimeSpan.FromSeconds(8);

    /// <summary>How long the partition lasts once the majority has elected both primaries: both sides up and writable if they can be.</summary>
    private static readonly TimeSpan AfterMajorityActs = TimeSpan.FromSeconds(5);

    /// <summary>Load after the heal: the rejoin runs under it.</summary>
    private static readonly TimeSpan AfterHeal = TimeSpan.FromSeconds(13);

    /// <summary>The fenced run's name: its report is what the containers run is compared with.</summary>
    private const string FencedRun = "lagos-isolation-fenced";

    [TestCase(false, Category = "Drill")]
    [TestCase(true, Category = "Gate,Drill")]
    [Order(1)]
    public async Task Isolating_lagos_loses_no_acknowledged_write_to_a_split_brain(bool fenced)
    {
        await using var run = await RunAsync(fenced ? FencedRun : "lagos-isolation-as-documented", Configured(fenced));

        Verdicts.AssertAllPassed(run);
    }

    /// <summary>
    /// The same procedure with Lagos as a host of its own (environments/containers.yaml in 10.231.91–93.0/24, balancer
    /// 127.0.0.209, the same commit rule) and cut off by the kernel inside its network namespace (the links untouched):
    /// the same targets judged, each with the same outcome, as the fenced run on loopback — that run's report when this
    /// suite has just written it, else the run itself first. Not a gate of its own: it checks that the environments agree
    /// (drill suite; CI's containers tests isolate and rejoin Lagos by its packet filter in RegionPacketFilterTests).
    /// </summary>
    [Test]
    [Order(2)]
    [Category("Drill")]
    public async Task Isolating_lagos_by_its_packet_filter_in_containers_gives_the_verdicts_of_the_local_run()
    {
        var local = await LocalFencedVerdictsAsync();
        await using var run = await RunAsync("lagos-isolation-fenced-containers-firewall", ContainersFenced(), mode: IsolationMode.Firewall);

        var containers = run.Verdicts.Select(verdict => (verdict.Kind, verdict.Target, verdict.Passed)).ToList();
        TestContext.Out.WriteLine($"local: {string.Join("; ", local)}\ncontainers: {string.Join("; ", containers)}");
        Assert.That(containers, Is.EquivalentTo(local), "the same targets, each with the same outcome, as the fenced run on loopback");
        Verdicts.AssertAllPassed(run);
    }

    /// <summary>environments/containers.yaml in 10.231.91–93.0/24 with the balancer at 127.0.0.209, fenced (commit: majority).</summary>
    internal static EnvironmentDefinition ContainersFenced()
    {
        var path = Path.Combine(Path.GetDirectoryName(EnvironmentLoader.FromRepository().EnvironmentsDirectory)!, "environments", "containers.yaml");
        var yaml = File.ReadAllText(path)
            .Replace("10.231.1.", "10.231.91.", StringComparison.Ordinal)
            .Replace("10.231.2.", "10.231.92.", StringComparison.Ordinal)
            .Replace("10.231.3.", "10.231.93.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", "address: 127.0.0.209", StringComparison.Ordinal)
            .Replace("commit: async", "commit: majority", StringComparison.Ordinal);
        return EnvironmentLoader.Parse(yaml, path + " (10.231.91-93, fenced)", ScenarioSettings.Profile);
    }

    /// <summary>The fenced loopback run's verdicts: from its report when this suite wrote one, else from running it.</summary>
    private static async Task<List<(TargetKind Kind, string Target, bool Passed)>> LocalFencedVerdictsAsync()
    {
        var report = Path.Combine(ScenarioSettings.ReportDirectory, FencedRun + ".json");
        if (File.Exists(report) && System.Text.Json.JsonSerializer.Deserialize<ScenarioReport>(await File.ReadAllTextAsync(report), ScenarioReport.Json) is { } written
            && written.Environment == ScenarioSettings.EnvironmentName)
        {
            return [.. written.Verdicts.Select(verdict => (verdict.Kind, verdict.Target, verdict.Passed))];
        }

        await using var run = await RunAsync(FencedRun, Configured(fenced: true));
        return [.. run.Verdicts.Select(verdict => (verdict.Kind, verdict.Target, verdict.Passed))];
    }

    /// <summary>The environment with its commit rule: majority (fenced) or async (PostgreSQL's default).</summary>
    internal static EnvironmentDefinition Configured(bool fenced) =>
        fenced ? ScenarioSettings.EnvironmentWith(("commit: async", "commit: majority")) : ScenarioSettings.Environment();

    /// <summary>The isolation procedure, shared with the negative control.</summary>
    internal static async Task<ScenarioRun> RunAsync(string name, EnvironmentDefinition environment, bool negativeControl = false, IsolationMode mode = IsolationMode.Cut)
    {
        var isolated = environment.Primary.Name;
        var run = await ScenarioRun.ContinueAsync(name, environment, TopologyCondition.Healthy, negativeControl);
        try
        {
            await RunCoreAsync(run, name, isolated, mode);
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    private static async Task RunCoreAsync(ScenarioRun run, string name, string isolated, IsolationMode mode)
    {
        var environment = run.Environment;
        TestContext.Out.WriteLine($"commit rule: {environment.Database.Commit.ToString().ToLowerInvariant()}");

        // Long enough for the majority to act by itself: the balancer's detection, and Patroni's election once the
        // isolated leader's key has expired (ttl + loop_wait + retry_timeout at worst); the partition ends
        // AfterMajorityActs after the majority was seen to act (the worst case is only the bound).
        var majorityActs = TimeSpan.FromTicks(Math.Max(environment.DetectionTime.Ticks, environment.Database.WorstFailover.Ticks));
        var partitionFor = TimeSpan.FromTicks(Math.Max(MinimumPartition.Ticks, (majorityActs + AfterMajorityActs).Ticks));
        using var endLoad = new CancellationTokenSource();
        var loadTask = run.StartLoad(callsPerSecond: 50, duration: IsolateAt + partitionFor + AfterHeal, stop: endLoad.Token);
        await run.StepAsync("steady state: load before the partition", () => run.UntilAsync(IsolateAt));
        TopologyOperation? cut = null;
        var how = mode == IsolationMode.Firewall
            ? $"drop every packet between {isolated} and the other regions inside its network namespace"
            : $"{mode.ToString().ToLowerInvariant()} every link of {isolated}";
        var partition = await run.StepAsync($"inject: {how} (its processes stay up, the balancer still reaches it)",
            () => run.InjectAsync($"isolate {isolated}", async () => cut = await run.Topology.IsolateRegionAsync(isolated, mode)));
        var partitioned = run.Offset(cut!.VerifiedAt); // every link cut: from here on nothing the isolated side acknowledges can reach the others

        await run.StepAsync("observe: the majority side elects new primaries by itself (Patroni once the leader key expires, Sentinel for Redis)", async () =>
        {
            var majority = environment.Regions.First(region => region.Name != isolated).Name;
            await Topology.Processes.WaitStrategy.UntilAsync(async cancel => run.Topology.Redis.RegionAt(await run.Topology.Redis.MasterAccordingToAsync(majority, cancel)).Name != isolated,
                partitionFor, TimeSpan.FromMilliseconds(100), $"the Sentinels outside {isolated} to elect a new Redis master");
            await run.Topology.Postgres.WaitUntilPrimaryOutsideAsync(isolated, partitionFor);
        });
        // The balancer's detection is not watched here (Lagos's proxy still answers its checks), so it stays a lower bound.
        var atLeast = TimeSpan.FromTicks(Math.Max(MinimumPartition.Ticks, (environment.DetectionTime + AfterMajorityActs).Ticks));
        var partitionEnd = TimeSpan.FromTicks(Math.Clamp((run.Now + AfterMajorityActs).Ticks, (partition.Start + atLeast).Ticks, (partition.Start + partitionFor).Ticks));
        endLoad.CancelAfter(partitionEnd + AfterHeal - run.Now);
        await run.UntilAsync(partitionEnd);
        await run.StepAsync($"heal: restore {isolated}'s links (and empty its packet filter) and rejoin it as a replica region (Patroni rewinds it; REPLICAOF)", async () =>
        {
            await run.Topology.HealRegionAsync(isolated);
            run.EndFault(partition);
            await run.Topology.RejoinRegionAsync(isolated);
        });
        var load = await run.StepAsync("observe: load runs to its end", () => loadTask);

        await run.StepAsync("verify: every acknowledged write read back from the primaries after the rejoin", async () =>
        {
            var accounting = await Judgements.JudgeRpoAsync(run, partition.Start);
            foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
            {
                var windows = SplitBrainAnalysis.DualPrimaryWindows(run.RolesOf(store), run.Now);
                var dual = windows.Count == 0
                    ? "no dual-primary window"
                    : string.Join("; ", windows.Select(window => string.Create(CultureInfo.InvariantCulture,
                        $"{string.Join(" + ", window.Nodes)} both primary {window.From.TotalSeconds:F1}–{window.To.TotalSeconds:F1} s ({window.Duration.TotalSeconds:F1} s)")));
                // Diverged: acknowledged once the partition was complete, so only the isolated side ever had them — what
                // split brain loses. Acknowledged before (asynchronous replication still in flight at the cut) is the
                // stores' ordinary RPO, judged above and reported here.
                var acknowledgedAt = run.WritesOf(store).Where(write => write.Acknowledged is not null)
                    .ToDictionary(write => write.Id, write => write.Acknowledged!.Value, StringComparer.Ordinal);
                var lost = accounting[store].Lost;
                var diverged = lost.Where(id => acknowledgedAt.TryGetValue(id, out var at) && at >= partitioned).ToList();
                run.Judge(TargetVerdict.Zero(TargetKind.SplitBrain, $"{store} acknowledged writes lost to the split brain (split brain prevented)", diverged.Count,
                    string.Create(CultureInfo.InvariantCulture, $"{dual}; acknowledged after the partition was complete ({partitioned.TotalSeconds:F2} s) and lost: ") +
                    $"{(diverged.Count == 0 ? "none" : string.Join(", ", diverged.Take(5)) + (diverged.Count > 5 ? $" … ({diverged.Count})" : string.Empty))}; " +
                    $"in flight at the cut and lost: {lost.Count - diverged.Count}"));
            }
        });

        var calls = run.CallsOf(load);
        var healedAt = run.Faults.Single(fault => fault.Name == partition.Name).End ?? run.Now;
        var during = calls.Where(call => call.Start >= partition.Start && call.Start < healedAt).ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calls during the partition: {during.Count(call => call.Succeeded)} of {during.Count} answered ({string.Join(", ", during.Where(call => call.Succeeded).GroupBy(call => call.Region).Select(group => $"{group.Key} {group.Count()}"))})"));
        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
    }
}
