using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// What the suites run against, from the environment variables <c>./resilience drill</c> sets: the environment
/// (<c>VOXGUARD_ENVIRONMENT</c>, default local), the profile (<c>VOXGUARD_PROFILE</c>, default ci) and where reports go
/// (<c>VOXGUARD_REPORT_DIR</c>, default reports/last-scenarios/scenarios: a run directory's layout, so
/// <c>./resilience report --run reports/last-scenarios</c> builds its report).
/// </summary>
internal static class ScenarioSettings
{
    public static string EnvironmentName => System.Environment.GetEnvironmentVariable("VOXGUARD_ENVIRONMENT") is { Length: > 0 } name ? name : EnvironmentLoader.DefaultEnvironment;

    public static string Profile => System.Environment.GetEnvironmentVariable("VOXGUARD_PROFILE") is { Length: > 0 } profile ? profile : "ci";

    public static string ReportDirectory => System.Environment.GetEnvironmentVariable("VOXGUARD_REPORT_DIR") is { Length: > 0 } directory
        ? directory
        : Path.Combine(RepositoryRoot, "reports", "last-scenarios", "scenarios");

    /// <summary>
    /// <c>VOXGUARD_LOOPBACK_BLOCK</c> (a number, e.g. 11): the scenarios run on the environment moved to loopback blocks
    /// 127.0.N–N+2.x with its balancer at 127.0.0.N (<see cref="LoopbackBlocks"/>) — how <c>./resilience test</c> runs two
    /// scenario lanes side by side. Unset: the environment's own addresses.
    /// </summary>
    public static int? LoopbackBlock => System.Environment.GetEnvironmentVariable("VOXGUARD_LOOPBACK_BLOCK") is { Length: > 0 } text
        ? int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var block) && block is >= 11 and <= 251
            ? block
            : throw new InvalidOperationException($"VOXGUARD_LOOPBACK_BLOCK={text}: give the first of three free loopback blocks, 11 to 251 (e.g. 11 for 127.0.11–13.x), or unset it.")
        : null;

    /// <summary>The scenario reports this process wrote, each with its finish time (<see cref="ScenarioRun.ReportsWritten"/>).</summary>
    public static IReadOnlyList<(string Scenario, DateTimeOffset FinishedAt)> ReportsWritten =>
        [.. ScenarioRun.ReportsWritten.Select(report => (report.Scenario, report.FinishedAt))];

    /// <summary>The environment with the profile applied.</summary>
    public static EnvironmentDefinition Environment() => EnvironmentWith();

    /// <summary>The same environment with its YAML changed first — how a negative control breaks one thing on purpose.</summary>
    public static EnvironmentDefinition EnvironmentWith(params (string Text, string Replacement)[] changes)
    {
        var path = Path.Combine(RepositoryRoot, "environments", EnvironmentName + ".yaml");
        if (changes.Length == 0 && LoopbackBlock is null)
        {
            return EnvironmentLoader.FromRepository().Load(EnvironmentName, Profile);
        }

        var yaml = File.ReadAllText(path);
        if (LoopbackBlock is { } block)
        {
            yaml = LoopbackBlocks.Move(yaml, block, block);
            path += string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (moved to 127.0.{block}–{block + 2}.x)");
        }

        foreach (var (text, replacement) in changes)
        {
            if (!yaml.Contains(text, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The negative control expects '{text}' in {path}; update the control with the file.");
            }

            yaml = yaml.Replace(text, replacement, StringComparison.Ordinal);
        }

        return EnvironmentLoader.Parse(yaml, changes.Length > 0 ? path + " (negative control)" : path, Profile);
    }

    private static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException("Run the scenarios from inside the repository checkout (no VoxGuard.Resilience.sln above " + AppContext.BaseDirectory + ").");
        }
    }
}
