namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// An environment cannot be used: its file is unreadable or invalid (every problem is listed in the one
/// message), or a region, profile or environment was asked for by a name that does not exist.
/// </summary>
public sealed class EnvironmentException : Exception
{
    private EnvironmentException(string message, string environmentSource, IReadOnlyList<string> problems, Exception? inner = null)
        : base(message, inner)
    {
        EnvironmentSource = environmentSource;
        Problems = problems;
    }

    /// <summary>The file (or the name given to inline YAML) the environment came from.</summary>
    public string EnvironmentSource { get; }

    /// <summary>Each problem on its own, in file order; the message joins them.</summary>
    public IReadOnlyList<string> Problems { get; }

    internal static EnvironmentException Invalid(string source, IReadOnlyList<string> problems) =>
        new($"Invalid environment '{source}': {string.Join("; ", problems)}. Fix the file and run again.", source, problems);

    internal static EnvironmentException Unreadable(string source, Exception cause) =>
        Single(source, $"Cannot read environment '{source}': {cause.Message.TrimEnd('.')}. Check the path and its permissions.", cause);

    internal static EnvironmentException UnknownEnvironment(string name, string directory, IReadOnlyList<string> known) =>
        Single(directory, $"No environment '{name}' in {directory} (known: {Known(known)}). Pick a known one or add {name}.yaml there.");

    internal static EnvironmentException NoEnvironmentsDirectory(string startDirectory) =>
        Single(startDirectory, $"No environments/ folder found beside VoxGuard.Resilience.sln in {startDirectory} or any folder above it. Run from inside the repository or give the environment file's path.");

    internal static EnvironmentException UnknownProfile(string source, string profile, IReadOnlyList<string> known) =>
        Single(source, $"Environment '{source}' has no profile '{profile}' (known: {Known(known)}). Pick a known profile or add it under profiles:.");

    internal static EnvironmentException UnknownRegion(string source, string environment, string region, IEnumerable<string> known) =>
        Single(source, $"Environment '{environment}' has no region '{region}' (known: {Known(known)}).");

    internal static string Known(IEnumerable<string> names)
    {
        var list = string.Join(", ", names);
        return list.Length == 0 ? "none" : list;
    }

    private static EnvironmentException Single(string source, string message, Exception? inner = null) =>
        new(message, source, [message], inner);
}
