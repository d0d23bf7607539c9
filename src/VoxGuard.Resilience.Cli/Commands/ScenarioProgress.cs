using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// A drill's live progress from the files its scenarios write: each scenario report's verdicts and each test's
/// outcome, printed once as they appear. Files still being written are skipped and read on a later look.
/// </summary>
internal sealed class ScenarioProgress(string scenariosDirectory)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>True once a report or an outcome has appeared.</summary>
    public bool SawAnything => _seen.Count > 0;

    /// <summary>Prints what appeared since the last call.</summary>
    public void Print(TextWriter output)
    {
        if (!Directory.Exists(scenariosDirectory))
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(scenariosDirectory, "*.json").Order(StringComparer.Ordinal).Where(path => !_seen.Contains(path)))
        {
            ScenarioReport? report;
            try
            {
                report = RunInputs.TryReadReport(path);
            }
            catch (ReportException)
            {
                continue; // being written: next time
            }

            if (report is null)
            {
                if (IsComplete(path))
                {
                    _seen.Add(path); // other JSON evidence (the topology's state), not a report
                }

                continue;
            }

            _seen.Add(path);
            foreach (var verdict in report.Verdicts)
            {
                output.WriteLine($"  {DrillCommand.Outcome(verdict),-4}  [{TargetKinds.Label(verdict.Kind)}] {report.Scenario}: {verdict.Target}: {verdict.Measured} (required {verdict.Required})");
            }

            if (report.Verdicts.Any(verdict => !verdict.Passed && !verdict.NegativeControl))
            {
                // Where a target missed: the servers' own account of the fault, to place the miss before the report is opened.
                foreach (var line in ServerAccount.Of(report))
                {
                    output.WriteLine("        " + line);
                }
            }
        }

        var outcomes = Path.Combine(scenariosDirectory, RunLayout.OutcomesFolder);
        if (!Directory.Exists(outcomes))
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(outcomes, "*.json").Order(StringComparer.Ordinal).Where(path => !_seen.Contains(path)))
        {
            if (RunInputs.TryReadOutcome(path) is { } outcome)
            {
                _seen.Add(path);
                output.WriteLine($"  test {outcome.Status}: {outcome.Name}{(outcome.Status is "failed" or "broken" && outcome.Message is { } message ? " — " + FirstLine(message) : string.Empty)}");
            }
        }
    }

    private static bool IsComplete(string path)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            return true;
        }
        catch (Exception exception) when (exception is System.Text.Json.JsonException or IOException)
        {
            return false;
        }
    }

    private static string FirstLine(string text) => text.Trim().Split('\n')[0].Trim();
}
