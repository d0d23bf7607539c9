namespace VoxGuard.Resilience.Contracts;

/// <summary>A state change seen while a scenario ran (balancer server state, store role), at an offset from its start.</summary>
/// <param name="At">When it was observed.</param>
/// <param name="Subject">What changed, e.g. "balancer/lagos" or "redis/master".</param>
/// <param name="State">The new state, e.g. "DOWN" or "abuja".</param>
public sealed record HealthTransition(TimeSpan At, string Subject, string State);

/// <summary>When a fault was injected and (if it was) removed, at offsets from the scenario's start.</summary>
/// <param name="Name">What was done, e.g. "kill lagos".</param>
/// <param name="Start">When it began.</param>
/// <param name="End">When it was removed, or null if it never was.</param>
public sealed record FaultMarker(string Name, TimeSpan Start, TimeSpan? End);

/// <summary>One phase of a scenario (steady state, inject, observe, heal, verify), at offsets from its start.</summary>
/// <param name="Name">What the phase does, e.g. "inject: kill lagos".</param>
/// <param name="Start">When it began.</param>
/// <param name="Stop">When it ended.</param>
/// <param name="Status">passed, or broken when the phase threw (a harness or infrastructure error).</param>
/// <param name="Detail">The error of a broken phase.</param>
/// <param name="Within">The phase this step is part of (e.g. each step of a restore within "recover: …"); null for a phase.</param>
public sealed record ScenarioStep(string Name, TimeSpan Start, TimeSpan Stop, string Status, string? Detail = null, string? Within = null)
{
    /// <summary>How long it took.</summary>
    public TimeSpan Duration => Stop - Start;
}

/// <summary>A file written beside a scenario's report, as evidence.</summary>
/// <param name="Name">What it shows, e.g. "call timeline (CSV)".</param>
/// <param name="File">Its file name, relative to the report directory.</param>
/// <param name="MediaType">e.g. text/csv, text/plain, application/json, image/png.</param>
public sealed record ScenarioAttachment(string Name, string File, string MediaType);

/// <summary>Replication lag of one replica over a scenario.</summary>
/// <param name="Replica">The replica.</param>
/// <param name="Samples">How many samples.</param>
/// <param name="P50">Median lag.</param>
/// <param name="P99">99th percentile lag.</param>
/// <param name="Max">Largest lag.</param>
/// <param name="TimeAboveAlert">How long the lag stayed above the alert threshold (a sample above it counts until the next sample).</param>
public sealed record LagSummary(string Replica, int Samples, TimeSpan P50, TimeSpan P99, TimeSpan Max, TimeSpan TimeAboveAlert);

/// <summary>
/// What a server said about itself during a scenario, read from its log (a Patroni promotion, a Sentinel's switch, the
/// balancer marking a region DOWN): the system's own account, beside what the harness observed. Never judged: the
/// verdicts come from the pollers' observations.
/// </summary>
/// <param name="At">When the harness read the line, as an offset from the scenario's start.</param>
/// <param name="Server">The server's name in its run, e.g. abuja-patroni.</param>
/// <param name="Event">What the line means, e.g. "Patroni promoted its node (took the leader lock)".</param>
/// <param name="Line">The line as the server wrote it.</param>
public sealed record ServerEvent(TimeSpan At, string Server, string Event, string Line);
