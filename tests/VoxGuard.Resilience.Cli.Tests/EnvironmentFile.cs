using VoxGuard.Resilience.Tests.Shared;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>environments/local.yaml moved to other address blocks, so that a test's topology never meets one someone has up.</summary>
internal static class EnvironmentFile
{
    /// <summary>
    /// Writes the local environment with its regions in 127.0.<paramref name="firstBlock"/>–<paramref name="firstBlock"/>+2.x
    /// and the balancer at 127.0.0.<paramref name="balancerHost"/> to a temporary file and returns its path. Backups off
    /// unless <paramref name="backups"/> (local.yaml runs them): a test about something else then starts as fast as before,
    /// and its faults do not meet the WAL archive's retries against a lost repository.
    /// </summary>
    public static string WriteInBlocks(int firstBlock, int balancerHost, bool backups = false)
    {
        const string enabled = "\nbackups:\n  enabled: true ";
        var yaml = LocalEnvironmentInBlocks.Yaml(firstBlock, balancerHost);
        if (!yaml.Contains(enabled, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("environments/local.yaml no longer opens its backups section with 'enabled: true': update EnvironmentFile.");
        }

        var path = Path.Combine(Path.GetTempPath(), $"voxguard-cli-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, backups ? yaml : yaml.Replace(enabled, "\nbackups:\n  enabled: false", StringComparison.Ordinal));
        return path;
    }
}
