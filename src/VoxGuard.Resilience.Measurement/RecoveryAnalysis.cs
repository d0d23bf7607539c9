namespace VoxGuard.Resilience.Measurement;

/// <summary>What <see cref="RecoveryAnalysis.Analyse"/> found.</summary>
/// <param name="Recovered">The service came back and stayed back before the scenario ended.</param>
/// <param name="RecoveryTime">Fault start → the start of the first sliding window from which every later window
/// met the threshold (zero when the service never dropped); null when it did not recover.</param>
/// <param name="WorstWindowRatio">The lowest success ratio of any window after the fault.</param>
/// <param name="FailedCalls">Calls started after the fault that failed.</param>
/// <param name="CallsAfterFault">Calls started after the fault.</param>
public sealed record RecoveryResult(bool Recovered, TimeSpan? RecoveryTime, double WorstWindowRatio, int FailedCalls, int CallsAfterFault);

/// <summary>
/// RTO the AWS Resilience Hub way: the service is recovered at the start of the first sliding window after which
/// every window until the end of the scenario has a success ratio at or above the threshold — back, and staying back.
/// </summary>
public static class RecoveryAnalysis
{
    /// <summary>Analyses the calls of one scenario around one fault.</summary>
    /// <param name="calls">Every call of the scenario.</param>
    /// <param name="faultStart">When the fault was injected.</param>
    /// <param name="window">The sliding window (e.g. 1 s).</param>
    /// <param name="step">How far the window slides each time (e.g. 100 ms).</param>
    /// <param name="threshold">The success ratio a window needs (e.g. 0.99).</param>
    /// <param name="minimumCalls">Windows with fewer calls carry no evidence and are skipped.</param>
    public static RecoveryResult Analyse(IReadOnlyList<CallObservation> calls, TimeSpan faultStart, TimeSpan window, TimeSpan step, double threshold, int minimumCalls = 1)
    {
        ArgumentNullException.ThrowIfNull(calls);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, 1.0);

        var after = calls.Where(call => call.Start >= faultStart).OrderBy(call => call.Start).ToList();
        var failed = after.Count(call => !call.Succeeded);
        if (after.Count == 0)
        {
            return new RecoveryResult(false, null, double.NaN, 0, 0);
        }

        var last = after[^1].Start;
        TimeSpan? lastBadWindowStart = null;
        var worst = 1.0;
        for (var start = faultStart; start <= last; start += step)
        {
            var (total, succeeded) = Count(after, start, start + window);
            if (total < minimumCalls)
            {
                continue;
            }

            var ratio = (double)succeeded / total;
            worst = Math.Min(worst, ratio);
            if (ratio < threshold)
            {
                lastBadWindowStart = start;
            }
        }

        if (lastBadWindowStart is null)
        {
            return new RecoveryResult(true, TimeSpan.Zero, worst, failed, after.Count);
        }

        // Recovered at the first window after the last bad one — if there is any evidence after it.
        var recoveredAt = lastBadWindowStart.Value + step;
        var evidenceAfter = Count(after, recoveredAt, last + step).Total >= minimumCalls && recoveredAt + window <= last + step;
        return evidenceAfter
            ? new RecoveryResult(true, recoveredAt - faultStart, worst, failed, after.Count)
            : new RecoveryResult(false, null, worst, failed, after.Count);
    }

    private static (int Total, int Succeeded) Count(List<CallObservation> sorted, TimeSpan from, TimeSpan to)
    {
        var total = 0;
        var succeeded = 0;
        foreach (var call in sorted)
        {
            if (call.Start < from)
            {
                continue;
            }

            if (call.Start >= to)
            {
                break;
            }

            total++;
            succeeded += call.Succeeded ? 1 : 0;
        }

        return (total, succeeded);
    }
}
