namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>Paths in the repository checkout the tests run from.</summary>
internal static class TestPaths
{
    /// <summary>The environments/ folder.</summary>
    public static string Environments { get; } = Find();

    /// <summary>environments/local.yaml (ci profile) moved to blocks 127.0.N–N+2.x with the balancer at 127.0.0.N, so fixtures never meet.</summary>
    public static Topology.Environments.EnvironmentDefinition LocalInBlocks(int lagosOctet) => Topology.Environments.EnvironmentLoader.Parse(
        File.ReadAllText(Path.Combine(Environments, "local.yaml"))
            .Replace("127.0.1.", $"127.0.{lagosOctet}.", StringComparison.Ordinal)
            .Replace("127.0.2.", $"127.0.{lagosOctet + 1}.", StringComparison.Ordinal)
            .Replace("127.0.3.", $"127.0.{lagosOctet + 2}.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", $"address: 127.0.0.{lagosOctet}", StringComparison.Ordinal),
        $"local-in-{lagosOctet}.yaml",
        "ci");

    private static string Find()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return Path.Combine(directory.FullName, "environments");
            }
        }

        throw new InvalidOperationException("No VoxGuard.Resilience.sln above the test directory.");
    }
}
