using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// Loads an environment from YAML, applies a profile and validates it before anything starts. Everything wrong
/// with a file (syntax, unknown keys, values of the wrong kind, broken rules) comes back as one
/// <see cref="EnvironmentException"/> naming the file and every problem.
/// </summary>
/// <remarks>
/// A profile is a named set of overrides inside the file (<c>profiles: { documented: {…}, ci: {…} }</c>): any
/// section may be set again there, mappings merge key by key, lists are replaced whole. Without a profile asked by
/// name, the file's <c>default_profile</c> applies.
/// </remarks>
public sealed partial class EnvironmentLoader
{
    /// <summary>The embedded default environment.</summary>
    public const string DefaultEnvironment = "local";

    /// <summary>The file that marks the repository root.</summary>
    public const string SolutionFile = "VoxGuard.Resilience.sln";

    /// <summary>The folder beside it holding one YAML file per environment.</summary>
    public const string EnvironmentsFolder = "environments";

    private const string Extension = ".yaml";

    /// <summary>A loader for the environments in <paramref name="environmentsDirectory"/>.</summary>
    public EnvironmentLoader(string environmentsDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(environmentsDirectory);
        EnvironmentsDirectory = Path.GetFullPath(environmentsDirectory);
    }

    /// <summary>Where environment files are looked up by name.</summary>
    public string EnvironmentsDirectory { get; }

    /// <summary>The names of the environments present (file names without .yaml), sorted.</summary>
    public IReadOnlyList<string> KnownEnvironments =>
        Directory.Exists(EnvironmentsDirectory)
            ? [.. Directory.EnumerateFiles(EnvironmentsDirectory, "*" + Extension)
                .Select(Path.GetFileNameWithoutExtension)
                .OfType<string>()
                .Where(name => EnvironmentName().IsMatch(name))
                .Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// Finds the repository's environments/ folder by walking up from <paramref name="startDirectory"/> (default:
    /// the current directory, then the application's own directory) to the folder holding VoxGuard.Resilience.sln.
    /// </summary>
    public static EnvironmentLoader FromRepository(string? startDirectory = null)
    {
        var starts = startDirectory is null
            ? new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory }
            : [startDirectory];
        foreach (var start in starts)
        {
            for (var directory = new DirectoryInfo(Path.GetFullPath(start)); directory is not null; directory = directory.Parent)
            {
                var environments = Path.Combine(directory.FullName, EnvironmentsFolder);
                if (File.Exists(Path.Combine(directory.FullName, SolutionFile)) && Directory.Exists(environments))
                {
                    return new EnvironmentLoader(environments);
                }
            }
        }

        throw EnvironmentException.NoEnvironmentsDirectory(Path.GetFullPath(starts[0]));
    }

    /// <summary>Loads the environment of that name (environments/&lt;name&gt;.yaml) with a profile (default: the file's default_profile).</summary>
    public EnvironmentDefinition Load(string name = DefaultEnvironment, string? profile = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var path = Path.Combine(EnvironmentsDirectory, name + Extension);
        if (!EnvironmentName().IsMatch(name) || !File.Exists(path))
        {
            throw EnvironmentException.UnknownEnvironment(name, EnvironmentsDirectory, KnownEnvironments);
        }

        var display = $"{Path.GetFileName(EnvironmentsDirectory)}/{name}{Extension}";
        return Parse(ReadText(path, display), display, profile, expectedName: name);
    }

    /// <summary>Loads an environment file by path; the path as given names the file in errors.</summary>
    public static EnvironmentDefinition LoadFile(string path, string? profile = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Parse(ReadText(path, path), path, profile, expectedName: null);
    }

    /// <summary>Reads an environment from YAML text; <paramref name="source"/> names it in errors.</summary>
    public static EnvironmentDefinition Parse(string yaml, string source, string? profile = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        return Parse(yaml, source, profile, expectedName: null);
    }

    private static EnvironmentDefinition Parse(string yaml, string source, string? profile, string? expectedName)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            var scanner = new Scanner(reader);
            try
            {
                stream.Load(new Parser(scanner));
            }
            catch (YamlException exception)
            {
                // A few errors (a tab used as indentation) carry no mark of their own; the scanner knows where it stopped.
                var found = exception.End.Index == 0 ? scanner.CurrentPosition : exception.End;
                var began = exception.Start.Index == 0 ? found : exception.Start;
                throw EnvironmentException.Invalid(source, [SyntaxProblem(exception.Message, found, began)]);
            }
            catch (InvalidOperationException)
            {
                // YamlDotNet gives up on some malformed input (an unclosed flow list) without a mark of its own.
                throw EnvironmentException.Invalid(source, [SyntaxProblem("the text stops making sense here (often an unclosed [ or {)", scanner.CurrentPosition, scanner.CurrentPosition)]);
            }
        }

        if (stream.Documents.Count == 0)
        {
            throw EnvironmentException.Invalid(source, ["the file is empty; it must describe one environment (name, regions, balancer, links, …)"]);
        }

        if (stream.Documents.Count > 1)
        {
            throw EnvironmentException.Invalid(source, [$"the file holds {stream.Documents.Count} YAML documents; keep one environment per file"]);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode map)
        {
            throw EnvironmentException.Invalid(source, ["the top level must be a mapping of keys to values (name:, regions:, balancer:, …)"]);
        }

        var problems = new ProblemList();
        var root = YamlSection.Root(problems, map, EnvironmentYamlReader.RootKeys);
        var (applied, profiles, names) = SelectProfile(root, source, profile, problems);
        var environment = ReadAndValidate(root, source, applied, profiles, names, problems);
        if (expectedName is not null && problems.IsReadable("name") && !string.Equals(environment.Name, expectedName, StringComparison.Ordinal))
        {
            problems.Add("name", $"'{environment.Name}' does not match the file name {expectedName}{Extension}");
        }

        // The profiles not applied are checked too, so a typo in `ci` shows up on a documented run; only the
        // problems that sit inside that profile are kept (the rest were reported above).
        foreach (var other in names.Where(name => !string.Equals(name, applied?.Name, StringComparison.Ordinal)))
        {
            var scratch = new ProblemList();
            ReadAndValidate(YamlSection.Root(scratch, map, EnvironmentYamlReader.RootKeys), source, new ProfileDefinition(other, profiles[other].Description), profiles, names, scratch);
            foreach (var problem in scratch.Items.Where(item => item.EndsWith($", in profile '{other}')", StringComparison.Ordinal)))
            {
                problems.AddGeneral(problem);
            }
        }

        if (problems.Count > 0)
        {
            throw EnvironmentException.Invalid(source, problems.Items);
        }

        return environment with { Yaml = yaml };
    }

    private static EnvironmentDefinition ReadAndValidate(
        YamlSection root,
        string source,
        ProfileDefinition? applied,
        Dictionary<string, (string Description, YamlMappingNode? Overlay)> profiles,
        IReadOnlyList<string> names,
        ProblemList problems)
    {
        var overlay = applied is null ? null : profiles[applied.Name].Overlay;
        var layered = overlay is null || applied is null ? root : root.WithOverlay(overlay, applied.Name);
        var environment = EnvironmentYamlReader.Read(layered, source, applied, names);
        EnvironmentValidator.Validate(environment, problems);
        return environment;
    }

    private static (ProfileDefinition? Applied, Dictionary<string, (string Description, YamlMappingNode? Overlay)> Profiles, IReadOnlyList<string> Names) SelectProfile(
        YamlSection root, string source, string? requested, ProblemList problems)
    {
        var section = root.Section("profiles", required: false, keys: null);
        var names = section?.Keys() ?? [];
        var profiles = new Dictionary<string, (string Description, YamlMappingNode? Overlay)>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var profile = section!.Section(name, required: false, EnvironmentYamlReader.ProfileKeys);
            var overlay = profile is null
                ? null
                : new YamlMappingNode(profile.TopMap.Children.Where(child => child.Key is not YamlScalarNode { Value: "description" }));
            profiles[name] = (profile?.String("description", required: false) ?? string.Empty, overlay);
        }

        if (requested is not null && !profiles.ContainsKey(requested))
        {
            throw EnvironmentException.UnknownProfile(source, requested, names);
        }

        var fallback = root.String("default_profile", required: false);
        if (fallback is not null && !profiles.ContainsKey(fallback))
        {
            problems.Add("default_profile", $"'{fallback}' is not a profile (known: {EnvironmentException.Known(names)})");
            fallback = null;
        }
        else if (fallback is null && names.Count > 0 && requested is null)
        {
            problems.Add("default_profile", $"is required when profiles are defined (known: {EnvironmentException.Known(names)})");
        }

        var chosen = requested ?? fallback;
        return (chosen is null ? null : new ProfileDefinition(chosen, profiles[chosen].Description), profiles, names);
    }

    private static string ReadText(string path, string display)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw EnvironmentException.Unreadable(display, exception);
        }
    }

    /// <summary>
    /// YamlDotNet's "While scanning X, found Y" errors mark where X began and where Y was found; the second is
    /// where to look, the first is named when it differs (an unterminated quote, a mapping spoiled by a tab).
    /// </summary>
    private static string SyntaxProblem(string message, Mark found, Mark began)
    {
        var text = MarkPrefix().Replace(message, string.Empty).Trim().TrimEnd('.');
        var where = string.Create(CultureInfo.InvariantCulture, $"line {found.Line}, column {found.Column}");
        if (began.Line != found.Line || began.Column != found.Column)
        {
            where += string.Create(CultureInfo.InvariantCulture, $", in what began at line {began.Line}, column {began.Column}");
        }

        return $"the YAML does not parse: {text} ({where})";
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*", RegexOptions.CultureInvariant)]
    private static partial Regex MarkPrefix();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentName();
}
