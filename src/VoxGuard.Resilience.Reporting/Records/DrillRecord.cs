using VoxGuard.Resilience.Contracts;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoxGuard.Resilience.Reporting.Records;

/// <summary>
/// The audit record of one drill (<c>drill-record.json</c>, rendered as <c>drill-record.md</c>): who ran it where and
/// when, against what, with which harness commit; every target measured vs required with its verdict; the NCC checklist
/// items it evidences; and a SHA-256 of every evidence file so the record can be verified later
/// (<see cref="DrillRecordVerifier"/>).
/// </summary>
public sealed record DrillRecord
{
    /// <summary>The format of this record.</summary>
    public const string CurrentSchema = "voxguard-drill-record/1";

    /// <summary>The record's format.</summary>
    public string Schema { get; init; } = CurrentSchema;

    /// <summary>The run directory's name.</summary>
    public required string RunId { get; init; }

    /// <summary>One line: every target met, targets missed, or not trustworthy (harness errors).</summary>
    public required string Conclusion { get; init; }

    /// <summary>The environment.</summary>
    public required string Environment { get; init; }

    /// <summary>The profile.</summary>
    public required string Profile { get; init; }

    /// <summary>Who ran it (the operating-system user).</summary>
    public required string User { get; init; }

    /// <summary>The machine it ran on.</summary>
    public required string Host { get; init; }

    /// <summary>The harness's git commit (with a note when the checkout had uncommitted changes).</summary>
    public required string HarnessCommit { get; init; }

    /// <summary>When the first scenario started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the last one finished.</summary>
    public required DateTimeOffset FinishedAt { get; init; }

    /// <summary>When this record was written.</summary>
    public required DateTimeOffset RecordedAt { get; init; }

    /// <summary>Every test and how it ended.</summary>
    public required IReadOnlyList<DrillTestEntry> Tests { get; init; }

    /// <summary>Every target judged.</summary>
    public required IReadOnlyList<DrillTargetEntry> Targets { get; init; }

    /// <summary>Every scenario's phases and the steps within them, timed (a recovery from backups: each restore step).</summary>
    public IReadOnlyList<DrillScenarioEntry> Scenarios { get; init; } = [];

    /// <summary>The NCC compliance checklist with what this drill evidences for each item.</summary>
    public required IReadOnlyList<DrillNccEntry> Ncc { get; init; }

    /// <summary>Every evidence file with its SHA-256, paths relative to the run directory.</summary>
    public required IReadOnlyList<DrillEvidenceEntry> Evidence { get; init; }

    /// <summary>The JSON settings of the record.</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>A test of the drill.</summary>
/// <param name="Test">Its full name.</param>
/// <param name="Status">passed, failed, broken or skipped.</param>
/// <param name="NegativeControl">Whether it is a negative control.</param>
/// <param name="Scenarios">The scenarios it ran.</param>
/// <param name="Message">Why it did not pass.</param>
public sealed record DrillTestEntry(string Test, string Status, bool NegativeControl, IReadOnlyList<string> Scenarios, string? Message);

/// <summary>A target judged by a scenario.</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="Target">What was judged.</param>
/// <param name="Kind">What the target is about (failover, RPO, DR RTO…): decides the NCC items.</param>
/// <param name="NegativeControl">True when a negative control judged it (no evidence about the deployment).</param>
/// <param name="Measured">The measurement.</param>
/// <param name="Required">The requirement.</param>
/// <param name="Verdict">met, missed, or for a negative control "missed as designed" / "met (not what the control breaks)".</param>
/// <param name="Detail">What a reader needs to see why.</param>
/// <param name="NccItems">The NCC checklist items this target is evidence for.</param>
public sealed record DrillTargetEntry(string Scenario, string Target, TargetKind Kind, bool NegativeControl, string Measured, string Required, string Verdict, string? Detail, IReadOnlyList<string> NccItems);

/// <summary>A scenario's phases, timed; its faults; and what the servers said from its first fault on.</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="NegativeControl">Whether it ran as a negative control.</param>
/// <param name="Steps">Its phases and the steps within them, in order.</param>
public sealed record DrillScenarioEntry(string Scenario, bool NegativeControl, IReadOnlyList<DrillStepEntry> Steps)
{
    /// <summary>The faults it injected, in order (none in a record written before they were kept).</summary>
    public IReadOnlyList<DrillFaultEntry> Faults { get; init; } = [];

    /// <summary>
    /// What the servers said about themselves from a second before the first fault on (Patroni's promotion, a
    /// Sentinel's switch, the balancer's DOWN…), oldest first: the servers' own account of the failover its verdicts
    /// measured. Every line they wrote is in the evidence file named by <see cref="ServerLogs"/>.
    /// </summary>
    public IReadOnlyList<DrillServerEventEntry> ServerEvents { get; init; } = [];

    /// <summary>The evidence file with every line the servers wrote during the scenario, relative to the run directory.</summary>
    public string? ServerLogs { get; init; }
}

/// <summary>A fault a scenario injected.</summary>
/// <param name="Name">What it did, e.g. "lose lagos".</param>
/// <param name="StartSeconds">When it began, seconds from the scenario's start.</param>
/// <param name="EndSeconds">When it was removed; null when it lasted to the end (a region lost until its rejoin).</param>
public sealed record DrillFaultEntry(string Name, double StartSeconds, double? EndSeconds);

/// <summary>A server's account of itself, read from its log.</summary>
/// <param name="AtSeconds">When the harness read the line, seconds from the scenario's start.</param>
/// <param name="Server">The server, e.g. abuja-patroni.</param>
/// <param name="Event">What the line means, in plain words.</param>
public sealed record DrillServerEventEntry(double AtSeconds, string Server, string Event);

/// <summary>A phase of a scenario, or a step within one.</summary>
/// <param name="Name">What it did.</param>
/// <param name="Within">The phase it is part of; null for a phase.</param>
/// <param name="StartSeconds">When it began, seconds from the scenario's start.</param>
/// <param name="Seconds">How long it took.</param>
/// <param name="Status">passed, or broken.</param>
public sealed record DrillStepEntry(string Name, string? Within, double StartSeconds, double Seconds, string Status);

/// <summary>One NCC checklist item and this drill's evidence for it.</summary>
/// <param name="Id">The item's id.</param>
/// <param name="Requirement">The checklist's wording.</param>
/// <param name="Evidence">"supported" (every related target met), "contradicted" (one missed), "not evidenced by a drill", or "not evidenced by this run".</param>
/// <param name="Targets">How many targets of the drill evidence it.</param>
/// <param name="TargetsMet">How many of them were met.</param>
public sealed record DrillNccEntry(string Id, string Requirement, string Evidence, int Targets, int TargetsMet);

/// <summary>An evidence file.</summary>
/// <param name="Path">Relative to the run directory, with '/' separators.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record DrillEvidenceEntry(string Path, long Bytes, string Sha256);
