using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Reporting.Charts;

/// <summary>
/// The series a timeline chart plots, from the raw call timeline and lag samples: calls per second answered by each
/// region and failed (by the second each call was placed), the success ratio of each 1 s window, the lag per replica.
/// </summary>
/// <param name="Seconds">The left edge of every 1 s window, from the scenario's start.</param>
/// <param name="AnsweredPerRegion">Calls placed in each window and answered, per answering region.</param>
/// <param name="Failed">Calls placed in each window that failed.</param>
/// <param name="SuccessPercent">Answered / placed per window in percent; NaN where no call was placed.</param>
/// <param name="Lag">Lag samples (seconds, milliseconds) per replica.</param>
/// <param name="Duration">The time the chart covers.</param>
public sealed record TimelineSeries(
    double[] Seconds,
    IReadOnlyDictionary<string, double[]> AnsweredPerRegion,
    double[] Failed,
    double[] SuccessPercent,
    IReadOnlyDictionary<string, (double[] At, double[] Milliseconds)> Lag,
    double Duration)
{
    /// <summary>Bins calls into 1 s windows and groups lag samples by replica.</summary>
    public static TimelineSeries From(IReadOnlyList<CallRow> calls, IReadOnlyList<LagRow> lag, double scenarioSeconds)
    {
        ArgumentNullException.ThrowIfNull(calls);
        ArgumentNullException.ThrowIfNull(lag);
        var duration = new[] { scenarioSeconds, calls.Count == 0 ? 0 : calls.Max(call => call.End), lag.Count == 0 ? 0 : lag.Max(sample => sample.At) }.Max();
        // Whole seconds of load only: the load ends about one call interval after the last call was placed, and a
        // last second the load covered only in part would read as a drop in traffic.
        var starts = calls.Select(call => call.Start).Order().ToArray();
        var interval = starts.Length < 2 ? 1 : starts.Zip(starts.Skip(1), (earlier, later) => later - earlier).Order().ElementAt((starts.Length - 1) / 2);
        var windows = Math.Max(1, starts.Length == 0 ? 1 : (int)Math.Floor(starts[^1] + interval + 1e-6));
        var seconds = Enumerable.Range(0, windows).Select(second => (double)second).ToArray();
        var answered = new SortedDictionary<string, double[]>(StringComparer.Ordinal);
        var failed = new double[windows];
        foreach (var call in calls)
        {
            var window = (int)Math.Floor(call.Start);
            if (window < 0 || window >= windows)
            {
                continue;
            }

            if (!call.Succeeded)
            {
                failed[window]++;
                continue;
            }

            var region = string.IsNullOrWhiteSpace(call.Region) ? "unknown region" : call.Region;
            if (!answered.TryGetValue(region, out var counts))
            {
                answered[region] = counts = new double[windows];
            }

            counts[window]++;
        }

        var success = new double[windows];
        for (var window = 0; window < windows; window++)
        {
            var ok = answered.Values.Sum(counts => counts[window]);
            var placed = ok + failed[window];
            success[window] = placed == 0 ? double.NaN : 100.0 * ok / placed;
        }

        var lagByReplica = lag.GroupBy(sample => sample.Replica, StringComparer.Ordinal).OrderBy(group => group.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group =>
            {
                var ordered = group.OrderBy(sample => sample.At).ToList();
                return (ordered.Select(sample => sample.At).ToArray(), ordered.Select(sample => sample.LagMilliseconds).ToArray());
            }, StringComparer.Ordinal);
        return new TimelineSeries(seconds, answered, failed, success, lagByReplica, Math.Max(duration, 1));
    }
}
