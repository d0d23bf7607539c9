namespace VoxGuard.Resilience.Scenarios;

/// <summary>Stands in for the scenario suites' settings so their <c>AllureScenarioAttribute</c> compiles and runs here.</summary>
internal static class ScenarioSettings
{
    public static string ReportDirectory { get; set; } = Path.GetTempPath();

    public static IReadOnlyList<(string Scenario, DateTimeOffset FinishedAt)> ReportsWritten { get; set; } = [];
}
