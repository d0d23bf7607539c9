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

    /// <summary>The environment with the profile applied.</summary>
    public static EnvironmentDefinition Environment() => EnvironmentLoader.FromRepository().Load(EnvironmentName, Profile);

    /// <summary>The same environment with its YAML changed first — how a negative control breaks one thing on purpose.</summary>
    public static EnvironmentDefinition EnvironmentWith(params (string Text, string Replacement)[] changes)
    {
        var path = Path.Combine(RepositoryRoot, "environments", EnvironmentName + ".yaml");
        var yaml = File.ReadAllText(path);
        foreach (var (text, replacement) in changes)
        {
            if (!yaml.Contains(text, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The negative control expects '{text}' in {path}; update the control with the file.");
            }

            yaml = yaml.Replace(text, replacement, StringComparison.Ordinal);
        }

        return EnvironmentLoader.Parse(yaml, path + " (negative control)", Profile);
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
