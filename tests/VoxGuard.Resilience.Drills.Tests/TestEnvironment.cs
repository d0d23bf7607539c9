using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Drills.Tests;

/// <summary>The environment the tests run: the repository's environments/local.yaml, ci profile, on their own address blocks.</summary>
internal static class TestEnvironment
{
    /// <summary>
    /// environments/local.yaml (ci profile) moved to blocks 127.0.N–N+2.x with the balancer at 127.0.0.N, so this
    /// project's topology never meets another test project's or one someone has up.
    /// </summary>
    public static EnvironmentDefinition LocalInBlocks(int lagosOctet) => EnvironmentLoader.Parse(
        File.ReadAllText(Path.Combine(RepositoryRoot(), "environments", "local.yaml"))
            .Replace("127.0.1.", $"127.0.{lagosOctet}.", StringComparison.Ordinal)
            .Replace("127.0.2.", $"127.0.{lagosOctet + 1}.", StringComparison.Ordinal)
            .Replace("127.0.3.", $"127.0.{lagosOctet + 2}.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", $"address: 127.0.0.{lagosOctet}", StringComparison.Ordinal),
        $"local-in-{lagosOctet}.yaml",
        "ci");

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No VoxGuard.Resilience.sln above {TestContext.CurrentContext.TestDirectory}; run the tests from inside the repository checkout.");
    }
}
