using System.Globalization;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Reporting.Tests.Support;

/// <summary>
/// A small synthetic run directory as a drill leaves it: <c>reports/&lt;run&gt;/scenarios/</c> with scenario reports,
/// their CSV and text evidence, and NUnit outcomes. The default run has one test per case the report must handle: a
/// missed target (failed), a harness error before any report (broken), a negative control (missed as designed) and a
/// clean pass.
/// </summary>
internal sealed class FakeRun : IDisposable
{
    public const string Secret = "hunter2-very-secret";
    public const string RunId = "20260203T101500Z-gate-local-ci";
    public static readonly DateTimeOffset Start = new(2026, 2, 3, 10, 15, 0, TimeSpan.Zero);

    private readonly TempDirectory _root = new();

    public FakeRun()
    {
        RunDirectory = System.IO.Path.Combine(_root.Path, "reports", RunId);
        ScenariosDirectory = System.IO.Path.Combine(RunDirectory, RunInputs.ScenariosFolder);
        Directory.CreateDirectory(System.IO.Path.Combine(ScenariosDirectory, RunInputs.OutcomesFolder));
    }

    public string ReportsDirectory => System.IO.Path.Combine(_root.Path, "reports");

    public string RunDirectory { get; }

    public string ScenariosDirectory { get; }

    /// <summary>The default run: a failed Lagos loss, a broken Abuja loss, a negative control and a steady state.</summary>
    public static FakeRun Default()
    {
        var run = new FakeRun();
        var lagos = run.AddScenario("lagos-region-loss", Start, lost: "lagos", failoverSeconds: 42, recoversAt: 18);
        run.AddOutcome("VoxGuard.Resilience.Scenarios.RegionLossScenarios.Losing_lagos_fails_over_within_target_to_abuja_and_asaba_50_50_within_rpo",
            "failed", "Multiple failures or warnings in test:\n  1) failover (service back and staying back): measured 42.00 s, required < 30 s", lagos);
        run.AddOutcome("VoxGuard.Resilience.Scenarios.RegionLossScenarios.Losing_a_replica_region_keeps_service_and_spreads_its_share_over_the_others(\"abuja\")",
            "broken", "System.TimeoutException : redis-server (abuja) did not accept connections within 10 s", null, start: Start.AddSeconds(40), arguments: ["abuja"]);
        var control = run.AddScenario("negative-control-no-failover", Start.AddSeconds(60), lost: "lagos", failoverSeconds: null, recoversAt: null);
        run.AddOutcome("VoxGuard.Resilience.Scenarios.RegionLossScenarios.Negative_control_a_balancer_that_never_marks_lagos_down_and_never_redispatches_misses_the_failover_target",
            "passed", null, control);
        var steady = run.AddScenario("steady-state", Start.AddSeconds(100), lost: null, failoverSeconds: null, recoversAt: null);
        run.AddOutcome("VoxGuard.Resilience.Scenarios.SteadyStateScenario.Steady_state_splits_traffic_by_weight_and_loses_nothing", "passed", null, steady,
            className: "VoxGuard.Resilience.Scenarios.SteadyStateScenario");
        return run;
    }

    /// <summary>Writes a scenario report with its evidence files; returns it.</summary>
    public ScenarioReport AddScenario(string name, DateTimeOffset startedAt, string? lost, double? failoverSeconds, double? recoversAt, double seconds = 24)
    {
        var culture = CultureInfo.InvariantCulture;
        var faultAt = TimeSpan.FromSeconds(5);
        var verdicts = new List<TargetVerdict>();
        var faults = new List<FaultMarker>();
        var transitions = new List<HealthTransition>
        {
            new(TimeSpan.FromMilliseconds(100), "balancer/lagos", "UP"),
            new(TimeSpan.FromMilliseconds(100), "balancer/abuja", "UP"),
            new(TimeSpan.FromMilliseconds(100), "balancer/asaba", "UP"),
        };
        var steps = new List<ScenarioStep> { new("steady state: load at 50 calls/s", TimeSpan.Zero, faultAt, "passed") };
        if (lost is not null)
        {
            faults.Add(new FaultMarker($"kill {lost}", faultAt, null));
            steps.Add(new ScenarioStep($"inject: kill {lost}", faultAt, faultAt + TimeSpan.FromMilliseconds(80), "passed"));
            steps.Add(new ScenarioStep("observe: failover under load", faultAt + TimeSpan.FromMilliseconds(80), TimeSpan.FromSeconds(seconds - 1), "passed"));
            if (failoverSeconds is { } detectedAfter && !name.StartsWith("negative", StringComparison.Ordinal))
            {
                transitions.Add(new HealthTransition(faultAt + TimeSpan.FromSeconds(1.2), $"balancer/{lost}", "DOWN"));
            }

            verdicts.Add(TargetVerdict.Below(TargetKind.Failover, "failover (service back and staying back)", failoverSeconds is { } value ? TimeSpan.FromSeconds(value) : null,
                TimeSpan.FromSeconds(30), "312 of 950 calls after the fault failed; worst 1 s window 30.0 %"));
            verdicts.Add(TargetVerdict.Below(TargetKind.DataLoss, "Postgres RPO", TimeSpan.FromMilliseconds(240), TimeSpan.FromMinutes(1), "1020 acknowledged, 2 lost: w-17, w-18"));
            verdicts.Add(TargetVerdict.Zero(TargetKind.SplitBrain, "Redis unexpected writes", 0));
        }
        else
        {
            verdicts.Add(TargetVerdict.AtLeast(TargetKind.Availability, "call success", 100, 99.9, "400 calls"));
            verdicts.Add(TargetVerdict.AtMost(TargetKind.Distribution, "distribution deviation from 70/15/15", 4.2, 20, "lagos 69.0 %, abuja 15.5 %, asaba 15.5 %"));
        }

        steps.Add(new ScenarioStep("verify: read back every write", TimeSpan.FromSeconds(seconds - 1), TimeSpan.FromSeconds(seconds), "passed"));

        var calls = new StringBuilder("start_s,end_s,succeeded,region\n");
        var random = new Random(7);
        for (var i = 0; i < seconds * 50; i++)
        {
            var at = i / 50.0;
            var region = random.NextDouble() switch { < 0.70 => "lagos", < 0.85 => "abuja", _ => "asaba" };
            var down = lost is not null && at >= faultAt.TotalSeconds && (recoversAt is null || at < recoversAt);
            var succeeded = !(down && region == lost);
            if (lost is not null && at >= (recoversAt ?? double.MaxValue) && region == lost)
            {
                region = random.NextDouble() < 0.5 ? "abuja" : "asaba";
            }

            calls.Append(culture, $"{at:F4},{at + 0.52:F4},{succeeded},{(succeeded ? region : string.Empty)}\n");
        }

        var lag = new StringBuilder("at_s,replica,lag_ms\n");
        for (var at = 0.0; at < seconds; at += 0.25)
        {
            foreach (var replica in new[] { "abuja/postgres", "asaba/postgres" })
            {
                var spike = lost is not null && at > faultAt.TotalSeconds && at < faultAt.TotalSeconds + 6 ? (at - faultAt.TotalSeconds) * 900 : 0;
                lag.Append(culture, $"{at:F4},{replica},{8 + (replica[1] == 'b' ? 3 : 0) + spike:F1}\n");
            }
        }

        var attachments = new List<ScenarioAttachment>
        {
            Evidence(name, "call timeline (CSV)", "calls.csv", "text/csv", calls.ToString()),
            Evidence(name, "replication lag samples (CSV)", "lag.csv", "text/csv", lag.ToString()),
            Evidence(name, "Postgres write accounting (lost and unexpected ids)", "writes-postgres.txt", "text/plain", "acknowledged 1020, lost 2, unexpected 0\nlost:\nw-17\nw-18\n"),
            Evidence(name, "topology state at the end (balancer, stores, roles)", "topology-status.json", "application/json",
                $"{{\n  \"balancer\": {{ \"lagos\": \"DOWN\" }},\n  \"redis\": {{ \"password\": \"{Secret}\" }}\n}}\n"),
            Evidence(name, "server logs (every line of every server during the scenario)", "server-logs.txt", "text/plain",
                $"=== lagos-redis (pid 4242)\nrequirepass {Secret}\nconnecting with postgres://voxguard:{Secret}@127.0.1.20:5432/voxguard\nPGPASSWORD={Secret} psql -c 'select 1'\n=== sip-balancer (pid 4243)\nServer sip/lagos is DOWN\n"),
        };
        var lags = new[] { "abuja/postgres", "asaba/postgres" }.Select(replica => new LagSummary(replica, (int)(seconds * 4), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(lost is null ? 20 : 4500), TimeSpan.FromMilliseconds(lost is null ? 25 : 5400), TimeSpan.Zero)).ToList();
        // As ScenarioRun.Judge stamps them: the scenario's name, and whether it is a negative control.
        var judged = verdicts.Select(verdict => verdict with { Scenario = name, NegativeControl = name.StartsWith("negative-control", StringComparison.Ordinal) }).ToList();
        var report = new ScenarioReport(name, "local", "ci", startedAt, startedAt.AddSeconds(seconds), judged, faults, transitions, lags, steps, attachments)
        {
            ServerEvents = lost is null ? [] :
            [
                new(faultAt + TimeSpan.FromSeconds(1.5), "sip-balancer", $"balancer marked {lost} DOWN", $"Server regions/{lost} is DOWN, reason: Layer4 connection problem"),
                new(faultAt + TimeSpan.FromSeconds(12.04), "abuja-patroni", "Patroni promoted its node (took the leader lock)", "INFO: promoted self to leader by acquiring session lock"),
            ],
        };
        File.WriteAllText(System.IO.Path.Combine(ScenariosDirectory, name + ".json"), JsonSerializer.Serialize(report, ScenarioReport.Json));
        return report;
    }

    /// <summary>Writes an outcome file as the scenarios' attribute does.</summary>
    public void AddOutcome(string fullName, string status, string? message, ScenarioReport? report, DateTimeOffset? start = null, IReadOnlyList<string>? arguments = null, string? className = null)
    {
        var method = fullName.Split('(')[0].Split('.')[^1];
        var name = fullName[(fullName.Split('(')[0].LastIndexOf('.') + 1)..];
        var begin = start ?? report!.StartedAt.AddSeconds(-3);
        var outcome = new TestOutcome(fullName, name, className ?? "VoxGuard.Resilience.Scenarios.RegionLossScenarios", method, arguments ?? [], status,
            status switch { "passed" => "Passed", "failed" => "Failed", "broken" => "Failed:Error", _ => "Skipped" }, message,
            message is null ? null : "   at VoxGuard.Resilience.Scenarios.Verdicts.AssertAllPassed(ScenarioRun run)", begin, report?.FinishedAt.AddSeconds(1) ?? begin.AddSeconds(12),
            report?.Scenario.StartsWith("negative", StringComparison.Ordinal) == true ? "Negative controls" : "Region loss", "blocker", ["failover"],
            report is null ? [] : [report.Scenario], NegativeControl: report?.NegativeControl == true);
        File.WriteAllText(System.IO.Path.Combine(ScenariosDirectory, RunInputs.OutcomesFolder, Scenarios.AllureScenarioAttribute.SafeFileName(fullName) + ".json"),
            JsonSerializer.Serialize(outcome, ScenarioReport.Json));
    }

    public void Dispose() => _root.Dispose();

    private ScenarioAttachment Evidence(string scenario, string what, string suffix, string mediaType, string content)
    {
        var file = $"{scenario}-{suffix}";
        File.WriteAllText(System.IO.Path.Combine(ScenariosDirectory, file), content);
        return new ScenarioAttachment(what, file, mediaType);
    }
}
