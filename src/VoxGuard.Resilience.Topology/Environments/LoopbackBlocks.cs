using System.Globalization;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// Moves environments/local.yaml to other loopback blocks (YAML text in, text out): its regions from 127.0.1–3.x to
/// 127.0.<c>first</c>–<c>first</c>+2.x and its balancer from 127.0.0.10 to 127.0.0.<c>balancerHost</c>. Two topologies
/// of one environment then run side by side on one machine: test projects, and scenario lanes.
/// </summary>
public static class LoopbackBlocks
{
    /// <summary>The local environment's first region block (Lagos in 127.0.1.x).</summary>
    public const int LocalFirstBlock = 1;

    /// <summary>True when <paramref name="yaml"/> is on the local environment's loopback blocks (127.0.1–3.x), so it can be moved.</summary>
    public static bool CanMove(string yaml) => yaml?.Contains("127.0.1.", StringComparison.Ordinal) == true;

    /// <summary>Returns <paramref name="yaml"/> with the local environment's loopback addresses moved.</summary>
    /// <exception cref="ArgumentException">The text has none of the local environment's region addresses.</exception>
    public static string Move(string yaml, int firstBlock, int balancerHost)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentOutOfRangeException.ThrowIfLessThan(firstBlock, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstBlock, 251);
        ArgumentOutOfRangeException.ThrowIfLessThan(balancerHost, 11);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(balancerHost, 254);
        if (!CanMove(yaml))
        {
            throw new ArgumentException("Only an environment on loopback blocks 127.0.1–3.x (environments/local.yaml) can be moved to other blocks.", nameof(yaml));
        }

        // Lagos first: a block of 11 and up never contains "127.0.2." or "127.0.3." afterwards.
        return yaml
            .Replace("127.0.1.", Block(firstBlock), StringComparison.Ordinal)
            .Replace("127.0.2.", Block(firstBlock + 1), StringComparison.Ordinal)
            .Replace("127.0.3.", Block(firstBlock + 2), StringComparison.Ordinal)
            .Replace("address: 127.0.0.10", string.Create(CultureInfo.InvariantCulture, $"address: 127.0.0.{balancerHost}"), StringComparison.Ordinal);
    }

    private static string Block(int block) => string.Create(CultureInfo.InvariantCulture, $"127.0.{block}.");
}
