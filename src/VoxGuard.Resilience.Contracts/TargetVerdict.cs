using System.Globalization;

namespace VoxGuard.Resilience.Contracts;

/// <summary>How a measurement is compared with its requirement.</summary>
public enum TargetComparison
{
    /// <summary>Measured &lt; required.</summary>
    Below,

    /// <summary>Measured ≤ required.</summary>
    AtMost,

    /// <summary>Measured ≥ required.</summary>
    AtLeast,

    /// <summary>A condition with no figure (which node is primary, an order of events): the texts say what was required and seen.</summary>
    Condition,
}

/// <summary>The unit of a verdict's figures.</summary>
public enum TargetUnit
{
    /// <summary>No figure (a <see cref="TargetComparison.Condition"/>).</summary>
    None,

    /// <summary>Seconds.</summary>
    Seconds,

    /// <summary>Percent.</summary>
    Percent,

    /// <summary>A count (writes, calls, windows).</summary>
    Count,
}

/// <summary>One documented target judged against a measurement.</summary>
/// <param name="Scenario">The scenario that measured it (set when a scenario records the verdict).</param>
/// <param name="Target">What is judged, e.g. "failover (service back and staying back)". Free wording: nothing is derived from it.</param>
/// <param name="Kind">What the target is about; decides its category and compliance mapping.</param>
/// <param name="Measured">The measurement as text, with its unit ("4.20 s", "not recovered").</param>
/// <param name="Required">The requirement as text ("&lt; 30 s").</param>
/// <param name="Passed">Whether the measurement meets it.</param>
/// <param name="MeasuredValue">The measurement in <paramref name="Unit"/>; null when nothing could be measured (never recovered) or for a condition.</param>
/// <param name="RequiredValue">The requirement in <paramref name="Unit"/>; null for a condition.</param>
/// <param name="Unit">The unit of both values.</param>
/// <param name="Comparison">How they are compared.</param>
/// <param name="NegativeControl">True when the scenario is a negative control: a deliberately broken configuration whose target must miss.</param>
/// <param name="Detail">What a reader needs to see why (lost write ids, the worst window…).</param>
public sealed record TargetVerdict(string Scenario, string Target, TargetKind Kind, string Measured, string Required, bool Passed,
    double? MeasuredValue, double? RequiredValue, TargetUnit Unit, TargetComparison Comparison, bool NegativeControl = false, string? Detail = null)
{
    /// <summary>A duration that must stay under <paramref name="limit"/>; a missing measurement (never happened) misses.</summary>
    public static TargetVerdict Below(TargetKind kind, string target, TimeSpan? measured, TimeSpan limit, string? detail = null, string missing = "not recovered") =>
        new(string.Empty, target, kind, measured is { } value ? Seconds(value) : missing, "< " + Seconds(limit), measured is { } m && m < limit,
            measured?.TotalSeconds, limit.TotalSeconds, TargetUnit.Seconds, TargetComparison.Below, Detail: detail);

    /// <summary>A count that must be zero.</summary>
    public static TargetVerdict Zero(TargetKind kind, string target, int measured, string? detail = null) =>
        new(string.Empty, target, kind, measured.ToString(CultureInfo.InvariantCulture), "0", measured == 0,
            measured, 0, TargetUnit.Count, TargetComparison.AtMost, Detail: detail);

    /// <summary>A percentage that must be at least <paramref name="minimum"/>.</summary>
    public static TargetVerdict AtLeast(TargetKind kind, string target, double measured, double minimum, string? detail = null) =>
        new(string.Empty, target, kind, Percent(measured), "≥ " + Percent(minimum), measured >= minimum,
            double.IsNaN(measured) ? null : measured, minimum, TargetUnit.Percent, TargetComparison.AtLeast, Detail: detail);

    /// <summary>A percentage that must be at most <paramref name="maximum"/> (NaN: nothing to measure, which misses).</summary>
    public static TargetVerdict AtMost(TargetKind kind, string target, double measured, double maximum, string? detail = null) =>
        new(string.Empty, target, kind, double.IsNaN(measured) ? "no calls" : Percent(measured), "≤ " + Percent(maximum), measured <= maximum,
            double.IsNaN(measured) ? null : measured, maximum, TargetUnit.Percent, TargetComparison.AtMost, Detail: detail);

    /// <summary>A condition without a figure: <paramref name="holds"/> decides, the texts say what was required and seen.</summary>
    public static TargetVerdict Condition(TargetKind kind, string target, string measured, string required, bool holds, string? detail = null) =>
        new(string.Empty, target, kind, measured, required, holds, null, null, TargetUnit.None, TargetComparison.Condition, Detail: detail);

    /// <summary>"4.20 s", or "420 ms" under a second.</summary>
    public static string Seconds(TimeSpan value) => value.TotalSeconds < 1
        ? value.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms"
        : value.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";

    private static string Percent(double value) => value.ToString("F2", CultureInfo.InvariantCulture) + " %";
}
