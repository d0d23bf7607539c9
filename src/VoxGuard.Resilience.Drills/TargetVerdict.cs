using System.Globalization;

namespace VoxGuard.Resilience.Drills;

/// <summary>One documented target judged against a measurement.</summary>
/// <param name="Scenario">The scenario that measured it.</param>
/// <param name="Target">What is judged, e.g. "failover (RTO)".</param>
/// <param name="Measured">The measurement, with its unit ("4.2 s", "not recovered").</param>
/// <param name="Required">The requirement ("&lt; 30 s").</param>
/// <param name="Passed">Whether the measurement meets it.</param>
/// <param name="Detail">What a reader needs to see why (lost write ids, the worst window…).</param>
public sealed record TargetVerdict(string Scenario, string Target, string Measured, string Required, bool Passed, string? Detail = null)
{
    /// <summary>A duration target: passed when measured &lt; limit.</summary>
    public static TargetVerdict Below(string scenario, string target, TimeSpan? measured, TimeSpan limit, string? detail = null, string missing = "not recovered") =>
        new(scenario, target, measured is { } value ? Seconds(value) : missing, "< " + Seconds(limit), measured is { } m && m < limit, detail);

    /// <summary>A count that must be zero.</summary>
    public static TargetVerdict Zero(string scenario, string target, int measured, string? detail = null) =>
        new(scenario, target, measured.ToString(CultureInfo.InvariantCulture), "0", measured == 0, detail);

    /// <summary>A percentage that must be at least <paramref name="minimum"/>.</summary>
    public static TargetVerdict AtLeast(string scenario, string target, double measured, double minimum, string? detail = null) =>
        new(scenario, target, Percent(measured), "≥ " + Percent(minimum), measured >= minimum, detail);

    /// <summary>A percentage that must be at most <paramref name="maximum"/>.</summary>
    public static TargetVerdict AtMost(string scenario, string target, double measured, double maximum, string? detail = null) =>
        new(scenario, target, double.IsNaN(measured) ? "no calls" : Percent(measured), "≤ " + Percent(maximum), measured <= maximum, detail);

    private static string Seconds(TimeSpan value) => value.TotalSeconds < 1
        ? value.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms"
        : value.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";

    private static string Percent(double value) => value.ToString("F2", CultureInfo.InvariantCulture) + " %";
}
