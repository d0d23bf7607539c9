using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>drill</c>: runs the scenario suites (NUnit, <c>scenarios/</c>) against the local topology with a profile, streams
/// their verdicts as they come, and ends with a table of every target — measured vs required — and an exit code a CI
/// can gate on: 0 every target met, 1 a target missed, 2 the drill could not run or a check could not be trusted.
/// </summary>
internal static class DrillCommand
{
    private const string ScenarioProject = "scenarios/VoxGuard.Resilience.Scenarios/VoxGuard.Resilience.Scenarios.csproj";

    /// <summary>The scenario tests' console output, in the run directory.</summary>
    internal const string TestLogFile = "dotnet-test.log";

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var profile = new Option<string>("--profile") { Description = "ci (fast health checks, the gate) or documented (the guide's own timings, monthly drills).", DefaultValueFactory = _ => "ci" };
        var suite = new Option<string>("--suite") { Description = "gate (steady state, region loss, negative controls, all regions down), drill (the long scenarios, without the controls) or dr (disaster recovery from backups: all regions down, with its negative control).", DefaultValueFactory = _ => "gate" };
        var environmentName = new Option<string>("--env") { Description = "The environment (a file in environments/ without .yaml).", DefaultValueFactory = _ => EnvironmentLoader.DefaultEnvironment };
        var command = new Command("drill", "Run the disaster-recovery scenario suites under SIP load and judge every documented target from measurements.")
        {
            profile, suite, environmentName,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var suiteName = parseResult.GetValue(suite)!;
            // The scenarios' NUnit categories: Gate, Drill (the long ones), DisasterRecovery (recovery from backups,
            // its long control tagged Drill too so that ./resilience test leaves it out).
            var filter = suiteName switch
            {
                "gate" => "TestCategory=Gate",
                "drill" => "TestCategory=Drill&TestCategory!=DisasterRecovery",
                "dr" => "TestCategory=DisasterRecovery",
                _ => null,
            };
            if (filter is null)
            {
                await Console.Error.WriteLineAsync($"--suite '{suiteName}' must be gate, drill or dr.").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            EnvironmentDefinition environment;
            try
            {
                environment = EnvironmentCommand.Load(parseResult.GetValue(environmentName)!, parseResult.GetValue(profile));
            }
            catch (EnvironmentException exception)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            if (!File.Exists(ScenarioProject))
            {
                await Console.Error.WriteLineAsync($"{ScenarioProject} not found: run ./resilience drill from the repository checkout.").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            var reportDirectory = Path.GetFullPath(Path.Combine("reports", string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{suiteName}-{environment.Name}-{environment.Profile?.Name}"), "scenarios"));
            Directory.CreateDirectory(reportDirectory);
            Console.WriteLine($"Drill: suite {suiteName}, environment {environment.Name}, profile {environment.Profile?.Name}; reports in {reportDirectory}");
            if (environment.DetectionFinding() is { } finding)
            {
                Console.WriteLine($"  FINDING: {finding}");
            }

            var database = environment.Database;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  Database stand-in: PostgreSQL under Patroni (ttl {database.Ttl.TotalSeconds:F0} s, loop_wait {database.LoopWait.TotalSeconds:F0} s, retry_timeout {database.RetryTimeout.TotalSeconds:F0} s), commit {database.Commit.ToString().ToLowerInvariant()}."));
            int testsExit;
            try
            {
                testsExit = await RunScenariosAsync(filter, environment, reportDirectory, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Not "target missed" (1), which is what an unhandled cancellation returned: CI must not read a stop as a finding.
                await Console.Error.WriteLineAsync($"Drill stopped before its end (Ctrl-C or SIGTERM): no verdict. What the finished scenarios wrote is in {reportDirectory}; ./resilience report --run {Path.GetDirectoryName(reportDirectory)} builds its report.").ConfigureAwait(false);
                // The shares have exited; what their test hosts did not clean up is reaped now, as down would, not at the next
                // start. Session 21 stopped a drill whose two shares ran side by side and found each share's last run whole,
                // one PostgreSQL (started by Patroni, outside its group) still running in it; the cause was not pinned down.
                var (reaped, containers) = await TopologyCommands.ReapAbandonedAsync(CancellationToken.None).ConfigureAwait(false);
                if (reaped.RunsReaped.Count > 0 || containers > 0)
                {
                    await Console.Error.WriteLineAsync($"Reaped what the stopped scenarios left: {reaped.RunsReaped.Count} run(s), {reaped.ProcessesKilled.Count} process(es), {containers} container(s) and network(s).").ConfigureAwait(false);
                }

                return ExitCodes.Stopped;
            }

            // Only scenario reports: the folder holds other JSON evidence too (each scenario's topology state).
            var reports = Directory.EnumerateFiles(reportDirectory, "*.json")
                .Select(RunInputs.TryReadReport)
                .OfType<ScenarioReport>()
                .OrderBy(report => report.FinishedAt)
                .ToList();
            Console.Write(Render(reports));
            Console.Write(RenderDatabaseFailover(reports, environment));
            Console.Write(RenderDisasterRecovery(reports));
            // The compliance report of the run (Allure, JUnit, drill record); its problems are printed, never the exit code's business.
            await ReportCommand.BuildAsync(Path.GetDirectoryName(reportDirectory)!, cancellationToken).ConfigureAwait(false);
            var missed = reports.SelectMany(report => report.Verdicts).Count(verdict => !verdict.NegativeControl && !verdict.Passed);
            if (missed > 0)
            {
                Console.WriteLine($"{missed} target(s) missed.");
                return ExitCodes.TargetMissed;
            }

            if (testsExit != 0 || reports.Count == 0)
            {
                await Console.Error.WriteLineAsync("A scenario failed without a missed target (a harness or infrastructure error, or a negative control whose check could not fail): see the output above.").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            Console.WriteLine("Every target met.");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Runs the scenario tests in child <c>dotnet test</c> processes. What they measured is read from the files they write
    /// (scenario reports and test outcomes, <see cref="RunLayout"/>), never from their console output: that goes to
    /// <c>dotnet-test.log</c> in the run directory, and only its end is shown when the tests could not run.
    /// </summary>
    /// <remarks>
    /// An environment on loopback blocks 127.0.1–3.x runs in two shares, one after the other: the scenarios that hand
    /// their topology on, on its own addresses, then those that start their own topology (category <c>OwnTopology</c>:
    /// negative controls, split brain, disaster recovery) on the environment moved to 127.0.11–13.x (<see
    /// cref="LoopbackBlocks"/>), as <c>./resilience test</c> runs them. Side by side they took two thirds of the time on a
    /// host with room to spare, but on one whose kernel work cost more (a system call 1.1 µs, a page fault 12 µs:
    /// <c>./resilience bench host</c>) the two shares' servers starved each other: the steady state missed its success,
    /// split and lag targets and the chain's region losses found no PostgreSQL primary — verdicts about the harness's own
    /// load, not the system's.
    /// </remarks>
    private static async Task<int> RunScenariosAsync(string filter, EnvironmentDefinition environment, string reportDirectory, CancellationToken cancellationToken)
    {
        (string Filter, int? LoopbackBlock)[] shares = LoopbackBlocks.CanMove(environment.Yaml)
            ? [($"({filter})&TestCategory!={ScenarioShares.OwnTopologyCategory}", null), ($"({filter})&TestCategory={ScenarioShares.OwnTopologyCategory}", ScenarioShares.SecondShareBlock)]
            : [(filter, null)];
        var logPath = Path.Combine(Path.GetDirectoryName(reportDirectory)!, TestLogFile);
        var progress = new ScenarioProgress(reportDirectory);
        // The shares' temporary directory (TMPDIR), in a run directory of the drill's own: the SDK leaves two empty
        // directories in it for each dotnet test, and a killed .NET program its runtime's files (docs/measured-facts.md,
        // "What a killed .NET program leaves in /tmp"). It goes when the drill ends; a killed drill's is reaped by the next run.
        await using var scratch = RunDirectory.Create();
        var temporary = scratch.PathOf("tmp");
        Directory.CreateDirectory(temporary);
        IReadOnlyList<int> exitCodes;
        await using (var log = new StreamWriter(logPath) { AutoFlush = true })
        {
            // Live progress: each scenario's verdicts and each test's result as their files appear. A stop ends the share
            // running (its host tears its topology down) and starts no other.
            var codes = new List<int>();
            foreach (var share in shares)
            {
                cancellationToken.ThrowIfCancellationRequested(); // a stop between two shares starts no other
                codes.AddRange(await SideBySideProcesses.RunAsync([TestProcess(share.Filter, share.LoopbackBlock, environment, reportDirectory, temporary)],
                    log, () => progress.Print(Console.Out), ProgressInterval, cancellationToken).ConfigureAwait(false));
            }

            exitCodes = codes;
        }

        progress.Print(Console.Out);
        var exitCode = exitCodes.FirstOrDefault(code => code != 0);
        if (exitCode != 0 && !progress.SawAnything)
        {
            // Nothing ran (a build error, a missing SDK): the log's end says why.
            await Console.Error.WriteLineAsync($"The scenario tests did not run (dotnet test exited {exitCode}); the end of {logPath}:").ConfigureAwait(false);
            foreach (var line in File.ReadLines(logPath).TakeLast(30))
            {
                await Console.Error.WriteLineAsync("  " + line).ConfigureAwait(false);
            }
        }

        return exitCode;
    }

    private static ProcessStartInfo TestProcess(string filter, int? loopbackBlock, EnvironmentDefinition environment, string reportDirectory, string temporaryDirectory)
    {
        var start = new ProcessStartInfo("dotnet");
        foreach (var argument in new[] { "test", ScenarioProject, "-c", "Release", "-m:1", "--nologo", "--filter", filter, "--logger", "console;verbosity=normal" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["VOXGUARD_ENVIRONMENT"] = environment.Name;
        start.Environment["VOXGUARD_PROFILE"] = environment.Profile?.Name ?? string.Empty;
        start.Environment["VOXGUARD_REPORT_DIR"] = reportDirectory;
        start.Environment["VOXGUARD_LOOPBACK_BLOCK"] = loopbackBlock?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
        start.Environment["TMPDIR"] = temporaryDirectory;
        return start;
    }

    internal static string Render(IReadOnlyList<ScenarioReport> reports)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine();
        text.AppendLine(culture, $"  {"scenario",-30} {"target",-52} {"kind",-12} {"measured",-24} {"required",-16} verdict");
        foreach (var verdict in reports.SelectMany(report => report.Verdicts))
        {
            text.AppendLine(culture, $"  {Clip(verdict.Scenario, 30),-30} {Clip(verdict.Target, 52),-52} {TargetKinds.Label(verdict.Kind),-12} {Clip(verdict.Measured, 24),-24} {Clip(verdict.Required, 16),-16} {Outcome(verdict)}");
        }

        return text.ToString();
    }

    /// <summary>
    /// The PostgreSQL failover times measured (Patroni's own election, from the role timeline) beside the target, said
    /// plainly to be the stand-in's figure: Patroni waits for the lost leader's key to expire; YugabyteDB re-elects each
    /// tablet's Raft leader after its leader lease.
    /// </summary>
    internal static string RenderDatabaseFailover(IReadOnlyList<ScenarioReport> reports, EnvironmentDefinition environment)
    {
        var measured = reports.SelectMany(report => report.Verdicts)
            .Where(verdict => !verdict.NegativeControl && verdict.Kind == TargetKind.Failover && verdict.Target.StartsWith("Postgres failover by itself", StringComparison.Ordinal))
            .Select(verdict => $"{verdict.Scenario} {verdict.Measured}")
            .ToList();
        if (measured.Count == 0)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine();
        text.AppendLine(culture, $"  DATABASE FAILOVER measured: {string.Join("; ", measured)} (target < {environment.Targets.Failover.TotalSeconds:F0} s).");
        text.AppendLine(culture, $"  This is the stand-in's figure: Patroni promotes once the lost leader's key expires in etcd (ttl {environment.Database.Ttl.TotalSeconds:F0} s).");
        text.AppendLine("  YugabyteDB elects a new Raft leader per tablet after its leader lease (about 2 s by default), so production's figure is not this one.");
        return text.ToString();
    }

    /// <summary>
    /// The recoveries from backups (reports with a DR verdict): each phase and restore step with its time, then the DR
    /// verdicts; and the finding a negative control without WAL archiving states (the guide's schedule alone).
    /// </summary>
    internal static string RenderDisasterRecovery(IReadOnlyList<ScenarioReport> reports)
    {
        var recoveries = reports.Where(report => report.Verdicts.Any(verdict => TargetKinds.IsDisasterRecovery(verdict.Kind))).ToList();
        if (recoveries.Count == 0)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        foreach (var report in recoveries)
        {
            text.AppendLine();
            text.AppendLine(culture, $"  DISASTER RECOVERY: {report.Scenario}{(report.NegativeControl ? " (negative control)" : string.Empty)}");
            foreach (var step in report.Steps.OrderBy(step => step.Start))
            {
                var indent = step.Within is null ? string.Empty : "  ↳ ";
                text.AppendLine(culture, $"    {step.Start.TotalSeconds,7:F1} s  took {step.Duration.TotalSeconds,6:F2} s  {indent}{Clip(step.Name, 110)}");
            }

            foreach (var verdict in report.Verdicts.Where(verdict => TargetKinds.IsDisasterRecovery(verdict.Kind) || verdict.Kind == TargetKind.Retention))
            {
                text.AppendLine(culture, $"    {TargetKinds.Label(verdict.Kind),-12} {Clip(verdict.Target, 60),-60} {Clip(verdict.Measured, 40),-40} {Clip(verdict.Required, 40),-40} {Outcome(verdict)}");
            }
        }

        foreach (var miss in recoveries.Where(report => report.NegativeControl)
                     .SelectMany(report => report.Verdicts.Where(verdict => verdict.Kind == TargetKind.DisasterRecoveryDataLoss && !verdict.Passed && verdict.Comparison != TargetComparison.Condition)))
        {
            text.AppendLine(culture, $"  FINDING ({miss.Scenario}): {miss.Target} after the restore {miss.Measured}, against {miss.Required}: without continuous archiving (PostgreSQL WAL, Redis AOF) a restore brings back the last backup only, up to a backup interval of writes (6 h in the guide).");
        }

        return text.ToString();
    }

    /// <summary>PASS / MISS, or for a negative control whether it missed as designed.</summary>
    internal static string Outcome(TargetVerdict verdict) => verdict.NegativeControl
        ? verdict.Passed ? "control: passed" : "control: missed as designed"
        : verdict.Passed ? "PASS" : "MISS";

    internal static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
