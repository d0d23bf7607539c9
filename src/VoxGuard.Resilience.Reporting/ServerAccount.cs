using System.Globalization;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting;

/// <summary>
/// What the servers said from a scenario's first fault on (Patroni's promotion, the Sentinels' switch, the balancer's
/// DOWN): printed by <c>./resilience drill</c> under a scenario that missed a target, and kept in the drill record.
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
        var said = AroundTheFaults(report);
        if (said.Count == 0)
        {
            return [];
        }

        var faults = string.Join(", ", report.Faults.Select(fault => string.Create(culture, $"{fault.Name} at +{fault.Start.TotalSeconds:F3} s")));
        var lines = new List<string>
        {
            $"what the servers said{(faults.Length > 0 ? $" ({faults})" : string.Empty)}; every line in {RunLayout.ServerLogsFileOf(report.Scenario)}:",
        };
        lines.AddRange(said.Take(maxEvents).Select(serverEvent => string.Create(culture, $"+{serverEvent.At.TotalSeconds,8:F3} s  {serverEvent.Server}: {serverEvent.Event}")));
        if (said.Count > maxEvents)
        {
            lines.Add(string.Create(culture, $"… and {said.Count - maxEvents} more in the report's events."));
        }

        return lines;
    }

    /// <summary>
    /// The events from a second before the scenario's first fault on (what the servers said just before sets the
    /// scene); every event when it had no fault.
    /// </summary>
    public static IReadOnlyList<ServerEvent> AroundTheFaults(ScenarioReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var from = report.Faults.Count > 0 ? report.Faults.Min(fault => fault.Start) - TimeSpan.FromSeconds(1) : TimeSpan.Zero;
        return [.. report.ServerEvents.Where(serverEvent => serverEvent.At >= from)];
    }
}
