using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Measurement;

/// <summary>Replication-lag statistics per replica from periodic samples.</summary>
public static class LagAnalysis
{
    /// <summary>Summarises every replica's samples; <paramref name="alert"/> is the alert threshold (e.g. 500 ms).</summary>
    public static IReadOnlyList<LagSummary> Summarise(IEnumerable<LagSample> samples, TimeSpan alert)
    {
        ArgumentNullException.ThrowIfNull(samples);
        return [.. samples.GroupBy(sample => sample.Replica, StringComparer.Ordinal).OrderBy(group => group.Key, StringComparer.Ordinal).Select(group =>
        {
            var ordered = group.OrderBy(sample => sample.At).ToList();
            var lags = ordered.Select(sample => sample.Lag).Order().ToList();
            var above = TimeSpan.Zero;
            for (var i = 0; i + 1 < ordered.Count; i++)
            {
                if (ordered[i].Lag > alert)
                {
                    above += ordered[i + 1].At - ordered[i].At;
                }
            }

            return new LagSummary(group.Key, lags.Count, Percentile(lags, 0.50), Percentile(lags, 0.99), lags[^1], above);
        })];
    }

    /// <summary>
    /// When the lag came back under <paramref name="threshold"/> after <paramref name="from"/>: the first sample at
    /// which the latest sample of every replica seen since then is at or under it; null if that never happens. (Not
    /// "stays under": on a shared 2-core host one CPU stall puts a spike in any window; the spread after is reported.)
    /// </summary>
    public static TimeSpan? ReturnedUnder(IEnumerable<LagSample> samples, TimeSpan threshold, TimeSpan from)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var latest = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var sample in samples.Where(sample => sample.At >= from).OrderBy(sample => sample.At))
        {
            latest[sample.Replica] = sample.Lag;
            if (latest.Values.All(lag => lag <= threshold))
            {
                return sample.At;
            }
        }

        return null;
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double fraction)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("No samples.", nameof(sorted));
        }

        var rank = (int)Math.Ceiling(fraction * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
