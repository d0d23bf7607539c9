namespace VoxGuard.Resilience.Measurement;

/// <summary>The share of answered calls per region in one window, against the expected shares.</summary>
/// <param name="From">The window's start.</param>
/// <param name="To">The window's end.</param>
/// <param name="Answered">Answered calls in the window.</param>
/// <param name="Shares">Percent of answered calls per region (every expected region present, 0 if it served none).</param>
/// <param name="MaxRelativeDeviation">The largest |share − expected| / expected, in percent, over regions expected to serve.</param>
public sealed record DistributionWindow(TimeSpan From, TimeSpan To, int Answered, IReadOnlyDictionary<string, double> Shares, double MaxRelativeDeviation);

/// <summary>Traffic distribution: which region answered how much of the calls, window by window.</summary>
public static class DistributionAnalysis
{
    /// <summary>The shares of answered calls started in [from, to) and their deviation from <paramref name="expected"/> (percent per region).</summary>
    public static DistributionWindow Measure(IReadOnlyList<CallObservation> calls, IReadOnlyDictionary<string, double> expected, TimeSpan from, TimeSpan to)
    {
        ArgumentNullException.ThrowIfNull(calls);
        ArgumentNullException.ThrowIfNull(expected);
        var answered = calls.Where(call => call.Succeeded && call.Region is not null && call.Start >= from && call.Start < to).ToList();
        var shares = expected.Keys.Concat(answered.Select(call => call.Region!)).Distinct(StringComparer.Ordinal)
            .ToDictionary(region => region, region => answered.Count == 0 ? 0 : 100.0 * answered.Count(call => call.Region == region) / answered.Count, StringComparer.Ordinal);
        var deviation = expected.Where(pair => pair.Value > 0)
            .Select(pair => 100.0 * Math.Abs(shares[pair.Key] - pair.Value) / pair.Value)
            .DefaultIfEmpty(0)
            .Max();
        return new DistributionWindow(from, to, answered.Count, shares, answered.Count == 0 ? double.NaN : deviation);
    }

    /// <summary>Consecutive windows of <paramref name="width"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static IReadOnlyList<DistributionWindow> Windows(IReadOnlyList<CallObservation> calls, IReadOnlyDictionary<string, double> expected, TimeSpan from, TimeSpan to, TimeSpan width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(width, TimeSpan.Zero);
        var windows = new List<DistributionWindow>();
        for (var start = from; start < to; start += width)
        {
            windows.Add(Measure(calls, expected, start, start + width < to ? start + width : to));
        }

        return windows;
    }
}
