using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>The verdicts several scenarios judge the same way.</summary>
internal static class Judgements
{
    /// <summary>
    /// RPO and unexpected writes for both stores: every write the engines logged, read back from the current primaries,
    /// the lost ones listed (first ten) in the verdict's detail.
    /// </summary>
    public static async Task<IReadOnlyDictionary<WriteStore, WriteAccountingResult>> JudgeRpoAsync(ScenarioRun run, string name, TimeSpan faultStart)
    {
        var results = new Dictionary<WriteStore, WriteAccountingResult>();
        foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
        {
            var accounting = await run.AccountAsync(store, faultStart);
            var lostIds = accounting.Lost.Count == 0 ? "none" : string.Join(", ", accounting.Lost.Take(10)) + (accounting.Lost.Count > 10 ? $" … ({accounting.Lost.Count})" : string.Empty);
            run.Judge(TargetVerdict.Below(name, $"{store} RPO", accounting.Rpo, run.Environment.Targets.Rpo,
                $"{accounting.Acknowledged} acknowledged, {accounting.Lost.Count} lost: {lostIds}; {accounting.Recovered.Count} unacknowledged but present"));
            run.Judge(TargetVerdict.Zero(name, $"{store} unexpected writes", accounting.Unexpected.Count));
            results[store] = accounting;
        }

        return results;
    }

    /// <summary>The traffic split over [from, to) against <paramref name="expected"/> percentages, within the deviation alert.</summary>
    public static DistributionWindow JudgeSplit(ScenarioRun run, string name, string what, IReadOnlyList<CallObservation> calls,
        IReadOnlyDictionary<string, double> expected, TimeSpan from, TimeSpan to)
    {
        var distribution = DistributionAnalysis.Measure(calls, expected, from, to);
        run.Judge(TargetVerdict.AtMost(name, what, distribution.MaxRelativeDeviation, run.Environment.Targets.DistributionDeviationAlertPercent,
            string.Join(", ", distribution.Shares.Select(share => $"{share.Key} {share.Value:F1} %")) + $" of {distribution.Answered} answered"));
        return distribution;
    }

    /// <summary>The weights as expected percentages (70/15/15).</summary>
    public static IReadOnlyDictionary<string, double> Weights(ScenarioRun run) =>
        run.Environment.Regions.ToDictionary(region => region.Name, region => (double)region.Weight, StringComparer.Ordinal);
}
