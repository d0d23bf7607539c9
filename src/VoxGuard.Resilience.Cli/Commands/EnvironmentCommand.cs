using System.CommandLine;
using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>env</c>: loads and validates an environment with a profile, and shows what a drill would run
/// against — including whether the profile's health checks can detect a dead region within the
/// failover target at all.
/// </summary>
internal static class EnvironmentCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--env")
        {
            Description = "The environment: a file in environments/ without .yaml, or a path to a .yaml file.",
            DefaultValueFactory = _ => EnvironmentLoader.DefaultEnvironment,
        };
        var profile = new Option<string?>("--profile")
        {
            Description = "The profile to apply (e.g. documented, ci); default: the file's default_profile.",
        };
        var command = new Command("env", "Check an environment file and show its topology, timings and targets.") { name, profile };
        command.SetAction(parseResult =>
        {
            EnvironmentDefinition environment;
            try
            {
                environment = Load(parseResult.GetValue(name)!, parseResult.GetValue(profile));
            }
            catch (EnvironmentException exception)
            {
                Console.Error.WriteLine(exception.Message);
                return ExitCodes.CannotRun;
            }

            Console.Write(Describe(environment));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>An environment by name (environments/&lt;name&gt;.yaml) or by path to a .yaml file.</summary>
    internal static EnvironmentDefinition Load(string name, string? profile) =>
        name.EndsWith(".yaml", StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal)
            ? EnvironmentLoader.LoadFile(name, profile)
            : EnvironmentLoader.FromRepository().Load(name, profile);

    /// <summary>
    /// <see cref="Load"/>, with a broken environment reported on standard error instead of thrown: null then, and the
    /// command exits with <see cref="ExitCodes.CannotRun"/>.
    /// </summary>
    internal static async Task<EnvironmentDefinition?> LoadOrReportAsync(string name, string? profile)
    {
        try
        {
            return Load(name, profile);
        }
        catch (EnvironmentException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>A plain-text summary: regions, links, balancer timings, targets and the detection finding.</summary>
    internal static string Describe(EnvironmentDefinition environment)
    {
        var text = new System.Text.StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine(culture, $"Environment {environment.Name} ({environment.Source}), profile {environment.Profile?.Name ?? "(none)"}");
        text.AppendLine(culture, $"  {environment.Description}");
        text.AppendLine();
        text.AppendLine(culture, $"  {"region",-8} {"role",-8} {"weight",6} {"priority",8}  {"sip",-28} {"redis",-16} {"postgres",-16}");
        foreach (var region in environment.Regions)
        {
            text.AppendLine(culture, $"  {region.Name,-8} {region.Role.ToString().ToLowerInvariant(),-8} {region.Weight,6} {region.Priority,8}  {region.Sip,-28} {region.Redis,-16} {region.Postgres,-16}");
        }

        text.AppendLine();
        text.AppendLine(culture, $"  links: {string.Join(", ", environment.Links.Select(link => $"{link.Name} {Milliseconds(link.Latency)}"))}");
        var check = environment.Balancer.HealthCheck;
        text.AppendLine(culture, $"  balancer {environment.Balancer.SipEndPoint} ({environment.Balancer.Transport.ToString().ToLowerInvariant()}, {environment.Balancer.Mode.ToString().ToLowerInvariant()}): health check every {DurationText.InSeconds(check.Interval)}, timeout {DurationText.InSeconds(check.Timeout)}, rise {check.Rise}, fall {check.Fall}");
        if (environment.Balancer.AccessLinks.Enabled)
        {
            text.AppendLine(culture, $"  access links: balancer-<region>-sip, {Milliseconds(environment.Balancer.AccessLinks.Latency)} round trip, at host .199 of each region's block (every SIP message between the balancer and a region)");
        }

        var targets = environment.Targets;
        text.AppendLine(culture, $"  targets: failover < {DurationText.InSeconds(targets.Failover)}, RPO < {DurationText.InSeconds(targets.Rpo)}, RTO < {DurationText.InSeconds(targets.Rto)}; replication lag < {Milliseconds(environment.Replication.LagTarget)} (alert > {Milliseconds(environment.Replication.LagAlert)})");
        text.AppendLine();
        var breaker = environment.Balancer.CircuitBreaker;
        text.AppendLine(environment.DetectionFinding() is { } finding
            ? $"  FINDING: {finding}"
            : $"  Detection: a dead region is marked down within {DurationText.InSeconds(environment.DetectionTime)} (interval × fall), inside the {DurationText.InSeconds(targets.Failover)} failover target.");
        text.AppendLine(breaker.Enabled
            ? $"  Circuit breaker: while calls flow, a region to which {breaker.FailuresToOpen} in a row fail to connect (TCP) or get no reply (UDP) is marked down at once; it comes back after {breaker.SuccessesToClose} good checks."
            : "  Circuit breaker: off; only the health checks mark a region down.");
        return text.ToString();
    }

    private static string Milliseconds(TimeSpan value) => value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";
}
