namespace VoxGuard.Resilience.Contracts;

/// <summary>
/// Where a run's scenarios write (<c>reports/&lt;run-id&gt;/scenarios/</c>): one <c>&lt;scenario&gt;.json</c>
/// (<see cref="ScenarioReport"/>) per scenario with its evidence files beside it, and one
/// <c>outcomes/&lt;test&gt;.json</c> (<see cref="TestOutcome"/>) per NUnit test.
/// </summary>
public static class RunLayout
{
    /// <summary>The folder the scenarios write into, inside a run directory.</summary>
    public const string ScenariosFolder = "scenarios";

    /// <summary>The folder of test outcomes, inside the scenarios folder.</summary>
    public const string OutcomesFolder = "outcomes";

    /// <summary>The end of the name of a scenario's evidence file with every line its servers wrote.</summary>
    public const string ServerLogsSuffix = "server-logs.txt";

    /// <summary>The name of <paramref name="scenario"/>'s file with every line its servers wrote, in the scenarios folder.</summary>
    public static string ServerLogsFileOf(string scenario) => $"{scenario}-{ServerLogsSuffix}";
}
