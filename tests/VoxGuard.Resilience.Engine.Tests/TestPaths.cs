using VoxGuard.Resilience.Tests.Shared;

namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>Environments of the repository checkout the tests run from.</summary>
internal static class TestPaths
{
    /// <summary>environments/local.yaml (ci profile) moved to blocks 127.0.N–N+2.x with the balancer at 127.0.0.N, so fixtures never meet.</summary>
    public static Topology.Environments.EnvironmentDefinition LocalInBlocks(int lagosOctet) => Topology.Environments.EnvironmentLoader.Parse(
        LocalEnvironmentInBlocks.Yaml(lagosOctet, lagosOctet),
        $"local-in-{lagosOctet}.yaml",
        "ci");
}
