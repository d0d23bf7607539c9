using System.CommandLine;
using System.Security.Cryptography;
using VoxGuard.Resilience.Reporting;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Records;
using VoxGuard.Resilience.Reporting.Serving;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>report</c>: (re)builds a run's compliance report from its <c>scenarios/</c> folder — Allure results, the HTML the
/// Allure CLI renders, JUnit XML, the drill record — or verifies the run's evidence against its record, or serves the
/// HTML on loopback. Exit codes: 0 done (or evidence intact), 1 evidence modified, 2 cannot run (no such run, nothing in
/// it, the Allure CLI missing).
/// </summary>
internal static class ReportCommand
{
    private const string ReportsDirectory = "reports";

    public static Command Create()
    {
        var run = new Option<string>("--run")
        {
            Description = "The run directory (reports/<run-id>), or 'latest' for the newest run under reports/.",
            DefaultValueFactory = _ => "latest",
        };
        var open = new Option<bool>("--open") { Description = "Serve the HTML report on 127.0.0.1 and print its address, until Ctrl-C." };
        var verify = new Option<bool>("--verify") { Description = "Only check the run's evidence files against the SHA-256 hashes in its drill record." };
        var command = new Command("report", "Build a run's compliance report: Allure results and HTML, JUnit XML, the drill record for NCC.") { run, open, verify };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string runDirectory;
            try
            {
                runDirectory = Resolve(parseResult.GetValue(run)!);
            }
            catch (ReportException exception)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            if (parseResult.GetValue(verify))
            {
                return await VerifyAsync(runDirectory).ConfigureAwait(false);
            }

            var summary = await BuildAsync(runDirectory, cancellationToken).ConfigureAwait(false);
            if (summary is null)
            {
                return ExitCodes.CannotRun;
            }

            if (summary.HtmlIndexPath is null)
            {
                await Console.Error.WriteLineAsync(summary.HtmlNote).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            return parseResult.GetValue(open) ? await ServeAsync(Path.GetDirectoryName(summary.HtmlIndexPath)!, cancellationToken).ConfigureAwait(false) : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Builds the report of a run and prints where everything is; a problem is printed, not thrown (a drill's exit code
    /// is about its targets, not its report). Returns null when nothing could be built.
    /// </summary>
    internal static async Task<ReportSummary?> BuildAsync(string runDirectory, CancellationToken cancellationToken)
    {
        var repository = Directory.GetCurrentDirectory();
        try
        {
            var summary = await ReportBuilder.BuildAsync(runDirectory, new ReportOptions
            {
                AllureCli = AllureCli.Find(repository),
                HarnessCommit = await HarnessCommit.DescribeAsync(repository, cancellationToken).ConfigureAwait(false),
            }, cancellationToken).ConfigureAwait(false);
            Print(summary);
            return summary;
        }
        catch (ReportException exception)
        {
            await Console.Error.WriteLineAsync("Report not built: " + exception.Message).ConfigureAwait(false);
            return null;
        }
    }

    private static string Resolve(string run) => run == "latest"
        ? ReportBuilder.LatestRun(ReportsDirectory)
        : Directory.Exists(run) ? Path.GetFullPath(run)
        : throw new ReportException($"No run directory {Path.GetFullPath(run)}. Pass a directory under {ReportsDirectory}/ (e.g. --run {ReportsDirectory}/<run-id>) or --run latest.");

    private static void Print(ReportSummary summary)
    {
        var record = summary.RecordJsonPath;
        var recordHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(record)));
        Console.WriteLine();
        Console.WriteLine($"Report of {summary.RunDirectory}: {summary.Record.Conclusion}");
        Console.WriteLine($"  HTML report    {summary.HtmlIndexPath ?? "not rendered (below)"}");
        Console.WriteLine($"  JUnit          {summary.JUnitPath}");
        Console.WriteLine($"  drill record   {summary.RecordMarkdownPath}");
        Console.WriteLine($"                 {record} (sha256 {recordHash}; keep it to prove the record unchanged)");
        Console.WriteLine($"  Allure results {summary.ResultsDirectory} ({summary.Results.Count} tests)");
        foreach (var warning in summary.Warnings)
        {
            Console.WriteLine($"  warning: {warning}");
        }

        if (summary.HtmlIndexPath is not null)
        {
            var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), summary.RunDirectory);
            Console.WriteLine($"  view it: ./resilience report --run {(relative.StartsWith("..", StringComparison.Ordinal) ? summary.RunDirectory : relative)} --open");
        }
        else
        {
            Console.WriteLine($"  {summary.HtmlNote}");
        }
    }

    private static async Task<int> VerifyAsync(string runDirectory)
    {
        DrillRecordVerification verification;
        try
        {
            verification = DrillRecordVerifier.Verify(runDirectory);
        }
        catch (ReportException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
            return ExitCodes.CannotRun;
        }

        if (verification.Intact)
        {
            Console.WriteLine($"Evidence intact: {verification.Checked} files of {runDirectory} match the SHA-256 in its drill record.");
            return ExitCodes.Success;
        }

        Console.WriteLine($"Evidence NOT intact ({verification.Problems.Count} problem(s)) in {runDirectory}:");
        foreach (var problem in verification.Problems)
        {
            Console.WriteLine("  " + problem);
        }

        return ExitCodes.TargetMissed;
    }

    private static async Task<int> ServeAsync(string reportDirectory, CancellationToken cancellationToken)
    {
        await using var server = LoopbackReportServer.Start(reportDirectory);
        Console.WriteLine($"Serving {reportDirectory} at {server.Address} (loopback only); Ctrl-C stops.");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopping.");
        }

        return ExitCodes.Success;
    }
}
