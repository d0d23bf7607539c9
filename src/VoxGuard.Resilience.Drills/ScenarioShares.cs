namespace VoxGuard.Resilience.Drills;

/// <summary>
/// How the scenario suite splits into two shares run side by side (<c>./resilience drill</c>, <c>./resilience test</c>):
/// the fixtures that always start a topology of their own (negative controls, split brain, disaster recovery) on the
/// environment moved to other loopback blocks, the others — which hand their topology on — on its own addresses.
/// </summary>
/// <remarks>
/// Not three: with the own-topology fixtures split in two, three topologies started at once and the chain's first
/// window (the steady state) missed replication lag p99 — the harness's load, not the system's (docs/measured-facts.md,
/// "The suite waits more than it computes").
/// </remarks>
public static class ScenarioShares
{
    /// <summary>The NUnit category of the fixtures that start a topology of their own (the second share).</summary>
    public const string OwnTopologyCategory = "OwnTopology";

    /// <summary>Where the second share runs: 127.0.11–13.x, balancer 127.0.0.11 (tests/README.md lists who uses what).</summary>
    public const int SecondShareBlock = 11;
}
