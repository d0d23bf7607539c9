using VoxGuard.Resilience.Tests.Shared;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>environments/local.yaml moved to other address blocks, so that a test's topology never meets one someone has up.</summary>
internal static class EnvironmentFile
{
    /// <summary>
    /// Writes the local environment with its regions in 127.0.<paramref name="firstBlock"/>–<paramref name="firstBlock"/>+2.x
    /// and the balancer at 127.0.0.<paramref name="balancerHost"/> to a temporary file and returns its path.
    /// </summary>
    public static string WriteInBlocks(int firstBlock, int balancerHost)
    {
        var path = Path.Combine(Path.GetTempPath(), $"voxguard-cli-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, LocalEnvironmentInBlocks.Yaml(firstBlock, balancerHost));
        return path;
    }
}
