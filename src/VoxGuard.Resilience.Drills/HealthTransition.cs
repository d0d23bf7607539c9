namespace VoxGuard.Resilience.Drills;

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
