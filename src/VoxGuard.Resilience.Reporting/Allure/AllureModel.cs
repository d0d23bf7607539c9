using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoxGuard.Resilience.Reporting.Allure;

/// <summary>Allure's test statuses, written in lower case.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AllureStatus>))]
public enum AllureStatus
{
    /// <summary>Every target met (a negative control: its target missed as designed).</summary>
    [JsonStringEnumMemberName("passed")]
    Passed,

    /// <summary>A documented target missed.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>The harness or its servers failed: nothing was measured that can be trusted.</summary>
    [JsonStringEnumMemberName("broken")]
    Broken,

    /// <summary>Not run.</summary>
    [JsonStringEnumMemberName("skipped")]
    Skipped,
}

/// <summary>Why a result or step did not pass.</summary>
/// <param name="Message">One line per problem, each starting with the headline the categories match on.</param>
/// <param name="Trace">The details: NUnit's message and stack trace.</param>
public sealed record AllureStatusDetails(
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("trace")] string? Trace = null);

/// <summary>A label: suite, feature, severity, epic, tag, host, framework…</summary>
/// <param name="Name">The label's name.</param>
/// <param name="Value">Its value.</param>
public sealed record AllureLabel(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

/// <summary>A parameter of the test (environment, profile, test case arguments).</summary>
/// <param name="Name">The parameter's name.</param>
/// <param name="Value">Its value.</param>
public sealed record AllureParameter(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

/// <summary>A file in the results directory shown with a result or step.</summary>
/// <param name="Name">What it shows.</param>
/// <param name="Source">Its file name in the results directory (<c>&lt;uuid&gt;-attachment.&lt;ext&gt;</c>).</param>
/// <param name="Type">Its media type.</param>
public sealed record AllureAttachment(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("type")] string Type);

/// <summary>What a result and a step share (Allure's executable item): name, status, timing, sub-steps, attachments.</summary>
public abstract record AllureExecutable
{
    /// <summary>What it is: the test's or the step's display name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>How it ended.</summary>
    [JsonPropertyName("status")]
    public required AllureStatus Status { get; init; }

    /// <summary>Why it did not pass.</summary>
    [JsonPropertyName("statusDetails")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AllureStatusDetails? StatusDetails { get; init; }

    /// <summary>Always finished: results are written after the run.</summary>
    [JsonPropertyName("stage")]
    public string Stage { get; init; } = "finished";

    /// <summary>Start, milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("start")]
    public required long Start { get; init; }

    /// <summary>Stop, milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("stop")]
    public required long Stop { get; init; }

    /// <summary>Steps (phases, faults, verdicts).</summary>
    [JsonPropertyName("steps")]
    public IReadOnlyList<AllureStep> Steps { get; init; } = [];

    /// <summary>Files shown with it.</summary>
    [JsonPropertyName("attachments")]
    public IReadOnlyList<AllureAttachment> Attachments { get; init; } = [];

    /// <summary>Values it ran with (environment and profile; a verdict's measured and required).</summary>
    [JsonPropertyName("parameters")]
    public IReadOnlyList<AllureParameter> Parameters { get; init; } = [];
}

/// <summary>A step: a phase of the scenario, a fault, a verdict.</summary>
public sealed record AllureStep : AllureExecutable;

/// <summary>One test's result: <c>&lt;uuid&gt;-result.json</c> in Allure's results format.</summary>
public sealed record AllureResult : AllureExecutable
{
    /// <summary>This result's id (also its file name's prefix).</summary>
    [JsonPropertyName("uuid")]
    public required string Uuid { get; init; }

    /// <summary>The same for every run of the same test with the same parameters: links runs into a history.</summary>
    [JsonPropertyName("historyId")]
    public required string HistoryId { get; init; }

    /// <summary>The same for every run of the same test, whatever its parameters.</summary>
    [JsonPropertyName("testCaseId")]
    public required string TestCaseId { get; init; }

    /// <summary>The test's full name (namespace, class, method, arguments).</summary>
    [JsonPropertyName("fullName")]
    public required string FullName { get; init; }

    /// <summary>What a reader sees first: the scenario and its targets (Markdown).</summary>
    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>Labels: suite, feature, severity, epic, tags, host, framework.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<AllureLabel> Labels { get; init; } = [];

    /// <summary>The JSON settings of results files.</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true };
}

/// <summary>A defect category of <c>categories.json</c> (and of Allure 3's configuration): a name and what it matches.</summary>
/// <param name="Name">The category's name.</param>
/// <param name="MatchedStatuses">The statuses it applies to.</param>
/// <param name="MessageRegex">A regular expression the whole status message must match (Allure 2 matches the whole message; Allure 3 searches it).</param>
public sealed record AllureCategory(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("matchedStatuses")] IReadOnlyList<string> MatchedStatuses,
    [property: JsonPropertyName("messageRegex")] string MessageRegex);
