using System.Globalization;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Reporting.Privacy;

namespace VoxGuard.Resilience.Reporting.Allure;

/// <summary>
/// Writes an Allure results directory: <c>&lt;uuid&gt;-result.json</c> per test, <c>&lt;uuid&gt;-attachment.&lt;ext&gt;</c>
/// per attached file (text scrubbed of secrets), <c>environment.properties</c>, <c>executor.json</c> and
/// <c>categories.json</c>.
/// </summary>
public sealed class AllureResultsWriter
{
    /// <summary>Opens (creating) the results directory.</summary>
    public AllureResultsWriter(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
    }

    /// <summary>The results directory.</summary>
    public string Directory { get; }

    /// <summary>Copies a file in as an attachment (text media types scrubbed of secrets) and returns its reference.</summary>
    public AllureAttachment Attach(string name, string sourcePath, string mediaType)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(mediaType);
        var source = NewAttachmentName(Path.GetExtension(sourcePath));
        var target = Path.Combine(Directory, source);
        if (SecretScrubber.IsText(mediaType))
        {
            File.WriteAllText(target, SecretScrubber.Scrub(File.ReadAllText(sourcePath)), new UTF8Encoding(false));
        }
        else
        {
            File.Copy(sourcePath, target, overwrite: true);
        }

        return new AllureAttachment(name, source, mediaType);
    }

    /// <summary>Writes text (scrubbed of secrets) as an attachment and returns its reference.</summary>
    public AllureAttachment AttachText(string name, string content, string mediaType, string extension)
    {
        ArgumentNullException.ThrowIfNull(content);
        var source = NewAttachmentName(extension);
        File.WriteAllText(Path.Combine(Directory, source), SecretScrubber.Scrub(content), new UTF8Encoding(false));
        return new AllureAttachment(name, source, mediaType);
    }

    /// <summary>Writes one result (its messages scrubbed of secrets) and returns the file's path.</summary>
    public string Write(AllureResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var path = Path.Combine(Directory, $"{result.Uuid}-result.json");
        var scrubbed = result with
        {
            Description = Scrub(result.Description),
            StatusDetails = Scrub(result.StatusDetails),
            Steps = [.. result.Steps.Select(Scrub)],
        };
        File.WriteAllText(path, JsonSerializer.Serialize(scrubbed, AllureResult.Json), new UTF8Encoding(false));
        return path;
    }

    /// <summary>Writes <c>environment.properties</c> (shown as the report's environment table).</summary>
    public void WriteEnvironment(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var text = new StringBuilder();
        foreach (var (key, value) in properties)
        {
            text.Append(EscapeProperty(key, isKey: true)).Append('=').Append(EscapeProperty(value, isKey: false)).Append('\n');
        }

        File.WriteAllText(Path.Combine(Directory, "environment.properties"), SecretScrubber.Scrub(text.ToString()), new UTF8Encoding(false));
    }

    /// <summary>Writes <c>executor.json</c>: what produced the results.</summary>
    public void WriteExecutor(string name, string buildName, string reportName)
    {
        var executor = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["name"] = name,
            ["type"] = "voxguard-resilience",
            ["buildName"] = buildName,
            ["reportName"] = reportName,
        };
        File.WriteAllText(Path.Combine(Directory, "executor.json"), JsonSerializer.Serialize(executor, AllureResult.Json), new UTF8Encoding(false));
    }

    /// <summary>Writes <c>categories.json</c>.</summary>
    public void WriteCategories(IReadOnlyList<AllureCategory> categories) =>
        File.WriteAllText(Path.Combine(Directory, "categories.json"), JsonSerializer.Serialize(categories, AllureResult.Json), new UTF8Encoding(false));

    // Scrubbed field by field: scrubbing the JSON text could run a secret's mask past an escaped line break.
    private static AllureStep Scrub(AllureStep step) => step with
    {
        Name = SecretScrubber.Scrub(step.Name),
        StatusDetails = Scrub(step.StatusDetails),
        Steps = [.. step.Steps.Select(Scrub)],
        Parameters = [.. step.Parameters.Select(parameter => parameter with { Value = SecretScrubber.Scrub(parameter.Value) })],
    };

    private static AllureStatusDetails? Scrub(AllureStatusDetails? details) =>
        details is null ? null : new AllureStatusDetails(Scrub(details.Message), Scrub(details.Trace));

    private static string? Scrub(string? text) => text is null ? null : SecretScrubber.Scrub(text);

    private static string NewAttachmentName(string extension)
    {
        var suffix = extension.TrimStart('.');
        return $"{Guid.NewGuid():D}-attachment{(suffix.Length == 0 ? string.Empty : "." + suffix.ToLowerInvariant())}";
    }

    // Java .properties: backslash escapes; separators and leading blanks escaped in keys; line breaks as \n.
    private static string EscapeProperty(string text, bool isKey)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var character in text)
        {
            escaped.Append(character switch
            {
                '\\' => @"\\",
                '\n' => @"\n",
                '\r' => @"\r",
                '=' or ':' or ' ' when isKey => "\\" + character,
                _ when character > 0x7e => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)character:x4}"),
                _ => character.ToString(),
            });
        }

        return escaped.ToString();
    }
}
