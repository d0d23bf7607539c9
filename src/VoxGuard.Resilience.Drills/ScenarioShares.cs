namespace VoxGuard.Resilience.Drills;

/// <summary>
/// How the scenario suite splits into two shares (<c>./resilience drill</c>, <c>./resilience test</c>): the fixtures that
/// always start a topology of their own (negative controls, split brain, disaster recovery) on the environment moved to
/// other loopback blocks, the others — which hand their topology on — on its own addresses. Both run them one share
/// after the other.
/// </summary>
/// <remarks>
/// Side by side they starved each other on a host whose kernel work is dear (docs/measured-facts.md, "A host twice as
/// slow"); three shares at once already moved the steady state's lag verdict on a faster one ("The suite waits more
/// than it computes"). A verdict moved by the harness's own load is a false verdict.
/// </remarks>
public static class ScenarioShares
{
    /// <summary>The NUnit category of the fixtures that start a topology of their own (the second share).</summary>
    public const string OwnTopologyCategory = "OwnTopology";

    /// <summary>Where the second share runs: 127.0.11–13.x, balancer 127.0.0.11 (tests/README.md lists who uses what).</summary>
    public const int SecondShareBlock = 11;
}
