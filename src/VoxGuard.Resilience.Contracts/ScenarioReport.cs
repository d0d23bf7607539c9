using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoxGuard.Resilience.Contracts;

/// <summary>
/// What a scenario writes (<c>&lt;scenario&gt;.json</c>) for the drill summary and the compliance report. Offsets
/// (steps, faults, transitions, and the CSV attachments' seconds) count from <see cref="StartedAt"/>.
/// </summary>
/// <param name="Scenario">Its name, also the prefix of its attachment files.</param>
/// <param name="Environment">The environment's name.</param>
/// <param name="Profile">The profile applied, if any.</param>
/// <param name="StartedAt">Wall-clock time of offset zero.</param>
/// <param name="FinishedAt">Wall-clock time the report was written.</param>
/// <param name="Verdicts">Every target judged.</param>
/// <param name="Faults">Every fault injected.</param>
/// <param name="Transitions">Balancer and store state changes seen.</param>
/// <param name="Lag">Replication lag per replica.</param>
/// <param name="Steps">The phases in order.</param>
/// <param name="Attachments">The evidence files beside the report.</param>
public sealed record ScenarioReport(string Scenario, string Environment, string? Profile, DateTimeOffset StartedAt, DateTimeOffset FinishedAt,
    IReadOnlyList<TargetVerdict> Verdicts, IReadOnlyList<FaultMarker> Faults, IReadOnlyList<HealthTransition> Transitions, IReadOnlyList<LagSummary> Lag,
    IReadOnlyList<ScenarioStep> Steps, IReadOnlyList<ScenarioAttachment> Attachments)
{
    /// <summary>The JSON settings of report files (camelCase, enums by name so a reader sees "failover", not 1).</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>What the servers said about themselves during the scenario, oldest first (empty in reports written before it was kept).</summary>
    public IReadOnlyList<ServerEvent> ServerEvents { get; init; } = [];

    /// <summary>The file name of a scenario's report in a run's scenarios folder.</summary>
    public static string FileName(string scenario) => scenario + ".json";

    /// <summary>True when the scenario is a negative control (its verdicts say so).</summary>
    public bool NegativeControl => Verdicts.Any(verdict => verdict.NegativeControl);

    /// <summary>True when every verdict passed.</summary>
    public bool Passed => Verdicts.All(verdict => verdict.Passed);
}
