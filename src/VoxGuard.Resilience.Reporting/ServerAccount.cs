using System.Globalization;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting;

/// <summary>
/// What the servers said from a scenario's first fault on (Patroni's promotion, the Sentinels' switch, the balancer's
/// DOWN), as lines for a console: printed by <c>./resilience drill</c> under a scenario that missed a target.
/// </summary>
public static class ServerAccount
{
    /// <summary>
    /// A heading naming the faults and the log file, then one line per event from a second before the first fault
    /// (at most <paramref name="maxEvents"/>, then how many more); nothing when the servers said nothing then.
    /// </summary>
    public static IReadOnlyList<string> Of(ScenarioReport report, int maxEvents = 20)
    {
        ArgumentNullException.ThrowIfNull(report);
        var culture = CultureInfo.InvariantCulture;
        var from = report.Faults.Count > 0 ? report.Faults.Min(fault => fault.Start) - TimeSpan.FromSeconds(1) : TimeSpan.Zero;
        var said = report.ServerEvents.Where(serverEvent => serverEvent.At >= from).ToList();
        if (said.Count == 0)
        {
            return [];
        }

        var faults = string.Join(", ", report.Faults.Select(fault => string.Create(culture, $"{fault.Name} at +{fault.Start.TotalSeconds:F3} s")));
        var lines = new List<string>
        {
            $"what the servers said{(faults.Length > 0 ? $" ({faults})" : string.Empty)}; every line in {report.Scenario}-server-logs.txt:",
        };
        lines.AddRange(said.Take(maxEvents).Select(serverEvent => string.Create(culture, $"+{serverEvent.At.TotalSeconds,8:F3} s  {serverEvent.Server}: {serverEvent.Event}")));
        if (said.Count > maxEvents)
        {
            lines.Add(string.Create(culture, $"… and {said.Count - maxEvents} more in the report's events."));
        }

        return lines;
    }
}
