using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Tests.Shared;

/// <summary>
/// environments/local.yaml moved to other loopback blocks, so that a test's topology never meets another test project's
/// or one someone has up. Compiled into each test project that needs it (tests/Shared), so there is one copy.
/// </summary>
internal static class LocalEnvironmentInBlocks
{
    /// <summary>The repository checkout the tests run from: the folder holding VoxGuard.Resilience.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>
    /// The text of environments/local.yaml with its regions in 127.0.<paramref name="firstBlock"/>–<paramref name="firstBlock"/>+2.x
    /// and the balancer at 127.0.0.<paramref name="balancerHost"/>.
    /// </summary>
    public static string Yaml(int firstBlock, int balancerHost) =>
        LoopbackBlocks.Move(File.ReadAllText(Path.Combine(RepositoryRoot, "environments", "local.yaml")), firstBlock, balancerHost);

    /// <summary>
    /// The text of environments/containers.yaml with its regions' networks in 10.231.<paramref name="firstBlock"/>–<paramref name="firstBlock"/>+2.0/24
    /// and the balancer at 127.0.0.<paramref name="balancerHost"/>.
    /// </summary>
    public static string ContainersYaml(int firstBlock, int balancerHost) =>
        File.ReadAllText(Path.Combine(RepositoryRoot, "environments", "containers.yaml"))
            .Replace("10.231.1.", $"10.231.{firstBlock}.", StringComparison.Ordinal)
            .Replace("10.231.2.", $"10.231.{firstBlock + 1}.", StringComparison.Ordinal)
            .Replace("10.231.3.", $"10.231.{firstBlock + 2}.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", $"address: 127.0.0.{balancerHost}", StringComparison.Ordinal);

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No VoxGuard.Resilience.sln above {AppContext.BaseDirectory}; run the tests from inside the repository checkout.");
    }
}
