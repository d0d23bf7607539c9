using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Tests.Support;

/// <summary>
/// A small, valid environment as YAML text, one region per line so a test can break exactly one thing with
/// <see cref="With"/> and read the problem it caused.
/// </summary>
internal static class TinyEnvironment
{
    public const string Source = "tiny.yaml";

    public static readonly string Yaml = string.Join('\n',
    [
        "name: tiny",
        "description: Three regions for unit tests.",
        "default_profile: documented",
        "regions:",
        Region("lagos", "primary", 1, 70, 1),
        Region("abuja", "replica", 2, 15, 2),
        Region("asaba", "replica", 3, 15, 3),
        "balancer:",
        "  address: 127.0.0.10",
        "  sip_port: 5060",
        "  transport: tcp",
        "  mode: roundrobin",
        "  redispatch: true",
        "  session_affinity: { timeout: 30min }",
        "  circuit_breaker: { failures_to_open: 5, successes_to_close: 2 }",
        "links:",
        "  - { from: lagos, to: abuja, latency: 20ms }",
        "  - { from: lagos, to: asaba, latency: 30ms }",
        "  - { from: abuja, to: asaba, latency: 25ms }",
        "replication: { lag_target: 100ms, lag_alert: 500ms }",
        "targets:",
        "  failover: 30s",
        "  rpo: 60s",
        "  rto: 15min",
        "  traffic_split_after_primary_loss: { abuja: 50, asaba: 50 }",
        "  distribution_deviation_alert: 20",
        "failback: { enabled: true, health_threshold: 0.95 }",
        "profiles:",
        "  documented:",
        "    description: The guide's timings.",
        "    balancer:",
        "      health_check: { interval: 10s, timeout: 5s, rise: 2, fall: 5 }",
        "    failback: { delay: 300s }",
        "  ci:",
        "    description: Fast timings.",
        "    balancer:",
        "      health_check: { interval: 500ms, timeout: 500ms, rise: 2, fall: 3 }",
        "    failback: { delay: 5s }",
        "    database: { ttl: 20s, loop_wait: 1s, retry_timeout: 3s }",
        string.Empty,
    ]);

    /// <summary>The tiny environment with one piece of text replaced (which must occur exactly once).</summary>
    public static string With(string oldText, string newText) => With(Yaml, oldText, newText);

    public static string With(string yaml, string oldText, string newText)
    {
        var first = yaml.IndexOf(oldText, StringComparison.Ordinal);
        if (first < 0 || yaml.IndexOf(oldText, first + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"'{oldText}' must occur exactly once in the YAML under test.", nameof(oldText));
        }

        return string.Concat(yaml.AsSpan(0, first), newText, yaml.AsSpan(first + oldText.Length));
    }

    /// <summary>The 1-based line of the first line holding <paramref name="text"/>.</summary>
    public static int LineOf(string yaml, string text) =>
        yaml.Split('\n').Select((line, index) => (line, index)).First(pair => pair.line.Contains(text, StringComparison.Ordinal)).index + 1;

    public static EnvironmentDefinition Parse(string yaml, string? profile = null) => EnvironmentLoader.Parse(yaml, Source, profile);

    /// <summary>Parses YAML that must be refused, and returns the one exception.</summary>
    public static EnvironmentException Refuse(string yaml, string? profile = null) =>
        Assert.Throws<EnvironmentException>(() => Parse(yaml, profile))!;

    private static string Region(string name, string role, int octet, int weight, int priority) =>
        $"  - {{ name: {name}, role: {role}, address_block: 127.0.{octet}.0/24, weight: {weight}, priority: {priority}, "
        + $"sip: {{ address: 127.0.{octet}.1, udp_port: 5060, tcp_port: 5060 }}, engine: {{ address: 127.0.{octet}.2, port: 5070 }}, "
        + $"redis: {{ address: 127.0.{octet}.3, port: 6379 }}, sentinel: {{ address: 127.0.{octet}.3, port: 26379 }}, "
        + $"postgres: {{ address: 127.0.{octet}.4, port: 5432 }} }}";
}
