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

/// <summary>A step: a phase of the scenario, a fault, a verdict.</summary>
public sealed record AllureStep
{
    /// <summary>What the step did.</summary>
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

    /// <summary>Sub-steps.</summary>
    [JsonPropertyName("steps")]
    public IReadOnlyList<AllureStep> Steps { get; init; } = [];

    /// <summary>Files shown with the step.</summary>
    [JsonPropertyName("attachments")]
    public IReadOnlyList<AllureAttachment> Attachments { get; init; } = [];

    /// <summary>Values the step was run with (measured, required).</summary>
    [JsonPropertyName("parameters")]
    public IReadOnlyList<AllureParameter> Parameters { get; init; } = [];
}

/// <summary>One test's result: <c>&lt;uuid&gt;-result.json</c> in Allure's results format.</summary>
public sealed record AllureResult
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

    /// <summary>The test's display name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The test's full name (namespace, class, method, arguments).</summary>
    [JsonPropertyName("fullName")]
    public required string FullName { get; init; }

    /// <summary>What a reader sees first: the scenario and its targets (Markdown).</summary>
    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>How the test ended.</summary>
    [JsonPropertyName("status")]
    public required AllureStatus Status { get; init; }

    /// <summary>Why it did not pass.</summary>
    [JsonPropertyName("statusDetails")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AllureStatusDetails? StatusDetails { get; init; }

    /// <summary>Always finished.</summary>
    [JsonPropertyName("stage")]
    public string Stage { get; init; } = "finished";

    /// <summary>Start, milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("start")]
    public required long Start { get; init; }

    /// <summary>Stop, milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("stop")]
    public required long Stop { get; init; }

    /// <summary>Labels.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<AllureLabel> Labels { get; init; } = [];

    /// <summary>Parameters.</summary>
    [JsonPropertyName("parameters")]
    public IReadOnlyList<AllureParameter> Parameters { get; init; } = [];

    /// <summary>Steps.</summary>
    [JsonPropertyName("steps")]
    public IReadOnlyList<AllureStep> Steps { get; init; } = [];

    /// <summary>Files shown with the test.</summary>
    [JsonPropertyName("attachments")]
    public IReadOnlyList<AllureAttachment> Attachments { get; init; } = [];

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
