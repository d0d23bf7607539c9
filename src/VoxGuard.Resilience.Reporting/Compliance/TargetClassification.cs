using VoxGuard.Resilience.Drills;

namespace VoxGuard.Resilience.Reporting.Compliance;

/// <summary>What a documented target is about; decides the headline of a miss (and so its Allure category) and the NCC items it evidences.</summary>
public enum TargetKind
{
    /// <summary>Failover, detection, failback, the primaries' move: how long until service is back (RTO).</summary>
    Recovery,

    /// <summary>Acknowledged writes lost, RPO.</summary>
    DataLoss,

    /// <summary>Writes present that were never acknowledged or attempted, or losses in a split-brain scenario.</summary>
    SplitBrain,

    /// <summary>The traffic split over the regions.</summary>
    Distribution,

    /// <summary>Replication lag.</summary>
    ReplicationLag,

    /// <summary>Calls answered.</summary>
    Availability,

    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>Sorts verdicts into <see cref="TargetKind"/>s and words their misses so Allure's categories match them.</summary>
public static class TargetClassification
{
    /// <summary>The name prefix of negative controls: deliberately broken configurations whose checked target must miss.</summary>
    public const string NegativeControlPrefix = "negative-control";

    /// <summary>The headline of a broken test (the harness or its servers failed, not the system under test).</summary>
    public const string HarnessErrorHeadline = "Harness/infrastructure error";

    /// <summary>True for a negative control's scenario.</summary>
    public static bool IsNegativeControl(string scenario) => scenario?.StartsWith(NegativeControlPrefix, StringComparison.Ordinal) ?? false;

    /// <summary>What the verdict's target is about, from its wording and its scenario.</summary>
    public static TargetKind KindOf(TargetVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var target = verdict.Target.ToLowerInvariant();
        // A partition (isolation, split brain) that loses writes loses them to the split: that is split-brain data loss.
        var partitionScenario = verdict.Scenario.Contains("split-brain", StringComparison.OrdinalIgnoreCase)
            || verdict.Scenario.Contains("isolation", StringComparison.OrdinalIgnoreCase);
        bool Has(string word) => target.Contains(word, StringComparison.Ordinal);
        if (Has("unexpected") || Has("split brain") || Has("split-brain") || Has("dual-primary")
            || (partitionScenario && (Has("write") || Has("rpo") || Has("lost"))))
        {
            return TargetKind.SplitBrain;
        }

        if (Has("rpo") || (Has("write") && Has("lost")))
        {
            return TargetKind.DataLoss;
        }

        if (Has("failover") || Has("detection") || Has("failback") || Has("rto") || Has("recover") || Has("primar"))
        {
            return TargetKind.Recovery;
        }

        if (Has("replication lag"))
        {
            return TargetKind.ReplicationLag;
        }

        if (Has("split") || Has("distribution") || Has("share"))
        {
            return TargetKind.Distribution;
        }

        return Has("success") || Has("availab") || Has("answered") ? TargetKind.Availability : TargetKind.Other;
    }

    /// <summary>The headline a miss of this kind starts with ("RTO exceeded"); the Allure categories match on it.</summary>
    public static string MissHeadline(TargetKind kind) => kind switch
    {
        TargetKind.Recovery => "RTO exceeded",
        TargetKind.DataLoss => "RPO exceeded",
        TargetKind.SplitBrain => "Split-brain data loss",
        TargetKind.Distribution => "Distribution deviation",
        TargetKind.ReplicationLag => "Replication lag above target",
        TargetKind.Availability => "Availability below target",
        _ => "Target missed",
    };

    /// <summary>One line for a missed verdict: "RTO exceeded: failover (…): measured 42.00 s, required &lt; 30 s".</summary>
    public static string MissLine(TargetVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return $"{MissHeadline(KindOf(verdict))}: {verdict.Target}: measured {verdict.Measured}, required {verdict.Required}"
            + (string.IsNullOrWhiteSpace(verdict.Detail) ? string.Empty : $" ({verdict.Detail})");
    }
}
