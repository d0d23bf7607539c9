using System.Globalization;
using System.Net;
using System.Text;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// The HAProxy configuration of the TCP global balancer, generated from an environment: one frontend at the balancer
/// address, one backend with a server per region (named after the region, with its weight; reached through the region's
/// access link when the environment has them, <see cref="BalancerAccessLinkPlan"/>), SIP OPTIONS health checks
/// with the profile's timings, and an admin stats socket in the run directory.
/// </summary>
/// <remarks>
/// HAProxy balances connections, not calls: callers must open one TCP connection per call (SIPp <c>-t tn</c>) for the
/// weights to show in the split (exactly 70.0/15.0/15.0: docs/measured-facts.md, "HAProxy balances connections, not
/// calls"). <c>maxconn</c> needs twice as many file descriptors; <see cref="MaxConnections"/> stays far below the 20000
/// hard limit measured here (docs/measured-facts.md, "HAProxy maxconn and file descriptors").
/// </remarks>
public static class HaproxyConfig
{
    /// <summary>The frontend's name.</summary>
    public const string Frontend = "sip";

    /// <summary>The backend's name; its servers are named after the regions.</summary>
    public const string Backend = "regions";

    /// <summary>HAProxy's global and frontend connection limit (each connection takes two descriptors).</summary>
    public const int MaxConnections = 4000;

    /// <summary>How many times a failed connection to a region is retried (on another region with redispatch).</summary>
    public const int Retries = 2;

    /// <summary>The HAProxy configuration for <paramref name="environment"/>'s balancer, files under <paramref name="run"/>.</summary>
    public static string For(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return For(environment, SipProxyTier.ControlSocketPath(run), $"run {run.RunId}");
    }

    /// <summary>
    /// The HAProxy configuration for <paramref name="environment"/>'s balancer with its admin socket at
    /// <paramref name="controlSocket"/>; <paramref name="generatedFor"/> says in the header what it was made for.
    /// A balancer address of 0.0.0.0 (a container's balancer) listens on every interface and opens connections to the
    /// regions from whichever interface routes there.
    /// </summary>
    public static string For(EnvironmentDefinition environment, string controlSocket, string generatedFor)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentException.ThrowIfNullOrWhiteSpace(controlSocket);
        var balancer = environment.Balancer;
        var check = balancer.HealthCheck;
        var text = new StringBuilder();
        Line(text, $"# VoxGuard.Resilience: global SIP balancer of {environment.Name}, {generatedFor}. Generated; do not edit.");
        Line(text, "global");
        Line(text, Invariant($"    maxconn {MaxConnections}"));
        Line(text, "    nbthread 1");
        Line(text, $"    stats socket {controlSocket} mode 600 level admin");
        Line(text, "    stats timeout 10s");
        Line(text, string.Empty);
        Line(text, "defaults");
        Line(text, "    mode tcp");
        Line(text, "    timeout connect 1s");
        Line(text, "    timeout client 60s");
        Line(text, "    timeout server 60s");
        Line(text, Invariant($"    timeout check {Milliseconds(check.Timeout)}ms"));
        if (balancer.Redispatch)
        {
            Line(text, Invariant($"    retries {Retries}"));
            Line(text, "    option redispatch 1");
        }
        else
        {
            Line(text, "    retries 0");
            Line(text, "    no option redispatch");
        }

        Line(text, string.Empty);
        Line(text, $"frontend {Frontend}");
        Line(text, Invariant($"    bind {balancer.Address}:{balancer.SipPort}"));
        Line(text, Invariant($"    maxconn {MaxConnections}"));
        Line(text, $"    default_backend {Backend}");
        Line(text, string.Empty);
        Line(text, $"backend {Backend}");
        if (balancer.Mode == BalancerMode.Source)
        {
            Line(text, "    balance source");
            Line(text, "    hash-type consistent");
        }
        else
        {
            Line(text, "    balance roundrobin");
        }

        // Connections to the regions leave from the balancer's own address (else 127.0.0.1). In the containers
        // environment they leave from this machine's side of each region's network, and a compose balancer from its leg
        // in each region's network: a loopback or fixed source cannot reach a container there.
        if (environment.Hosts == RegionHosting.Loopback && !balancer.Address.Equals(IPAddress.Any))
        {
            Line(text, $"    source {balancer.Address}");
        }

        Line(text, "    option tcp-check");
        Line(text, "    tcp-check connect");
        Line(text, $"    tcp-check send \"{Escape(HealthCheckRequest(environment))}\"");
        Line(text, "    tcp-check expect string \"SIP/2.0 200\"");
        var interval = Milliseconds(check.Interval);
        Line(text, Invariant($"    default-server inter {interval}ms fastinter {interval}ms downinter {interval}ms rise {check.Rise} fall {check.Fall}{CircuitBreaker(balancer)}"));
        if (balancer.Mode == BalancerMode.Priority)
        {
            // Active/standby: priority 1 is the one active server; the others are backups in priority order, and
            // without `option allbackups` HAProxy sends everything to the first usable one.
            var ordered = environment.ByPriority;
            foreach (var region in ordered)
            {
                Line(text, Invariant($"    server {region.Name} {BalancerAccessLinkPlan.EntryFor(environment, region)} weight {region.Weight} check{(region == ordered[0] ? string.Empty : " backup")}"));
            }
        }
        else
        {
            foreach (var region in environment.Regions)
            {
                Line(text, Invariant($"    server {region.Name} {BalancerAccessLinkPlan.EntryFor(environment, region)} weight {region.Weight} check"));
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The guide's circuit breaker as HAProxy's passive health observation: every connection of a call to a region is
    /// watched (<c>observe layer4</c>), and <see cref="Environments.CircuitBreaker.FailuresToOpen"/> failures in a row
    /// (refused, timed out) mark it down at once; the health checks bring it back after their rise.
    /// </summary>
    private static string CircuitBreaker(BalancerDefinition balancer) =>
        balancer.CircuitBreaker is { Enabled: true } breaker
            ? Invariant($" observe layer4 error-limit {breaker.FailuresToOpen} on-error mark-down")
            : string.Empty;

    /// <summary>
    /// The SIP OPTIONS request of the health check: complete (Via, From/To with tag, Call-ID, CSeq, Max-Forwards,
    /// Content-Length), from the balancer's address. Every region's proxy answers it with 200 itself.
    /// </summary>
    public static string HealthCheckRequest(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var balancer = environment.Balancer;
        var self = Invariant($"{balancer.Address}:{balancer.SipPort}");
        return string.Join("\r\n",
            $"OPTIONS sip:healthcheck@{self};transport=tcp SIP/2.0",
            $"Via: SIP/2.0/TCP {self};branch=z9hG4bK-voxguard-healthcheck",
            "Max-Forwards: 70",
            $"From: <sip:healthcheck@{self}>;tag=voxguard-healthcheck",
            $"To: <sip:healthcheck@{self}>",
            "Call-ID: voxguard-healthcheck",
            "CSeq: 1 OPTIONS",
            "Content-Length: 0",
            string.Empty,
            string.Empty);
    }

    /// <summary>The CRLFs and quotes of a request as HAProxy's escapes inside a double-quoted argument.</summary>
    private static string Escape(string request) =>
        request.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');

    private static int Milliseconds(TimeSpan duration) => (int)Math.Ceiling(duration.TotalMilliseconds);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
