using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Compliance;

namespace VoxGuard.Resilience.Reporting.Allure;

/// <summary>
/// The defect categories of a run: one per kind of missed target, matched on the headline every missed verdict's line
/// starts with (<see cref="TargetKinds.MissLine"/>), and one for harness and infrastructure errors.
/// </summary>
public static class AllureCategories
{
    /// <summary>Every category, most serious first (a result with several misses lands in the first that matches).</summary>
    public static IReadOnlyList<AllureCategory> All { get; } =
    [
        .. TargetKinds.BySeverity.Select(Miss),
        new(TargetKinds.HarnessErrorHeadline, ["broken"], Containing(TargetKinds.HarnessErrorHeadline)),
    ];

    // Allure 2 requires the regex to match the whole message, Allure 3 finds it anywhere: [\s\S]* on both sides suits
    // both. Headlines hold letters, spaces, '-' and '/' only, none of which a regex treats specially.
    private static string Containing(string headline) => @"[\s\S]*" + headline + @":[\s\S]*";

    private static AllureCategory Miss(TargetKind kind) => new(TargetKinds.MissHeadline(kind), ["failed"], Containing(TargetKinds.MissHeadline(kind)));
}
