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
        var yaml = File.ReadAllText(Path.Combine(CliProcess.RepositoryRoot, "environments", "local.yaml"))
            .Replace("127.0.1.", $"127.0.{firstBlock}.", StringComparison.Ordinal)
            .Replace("127.0.2.", $"127.0.{firstBlock + 1}.", StringComparison.Ordinal)
            .Replace("127.0.3.", $"127.0.{firstBlock + 2}.", StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", $"address: 127.0.0.{balancerHost}", StringComparison.Ordinal);
        var path = Path.Combine(Path.GetTempPath(), $"voxguard-cli-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
