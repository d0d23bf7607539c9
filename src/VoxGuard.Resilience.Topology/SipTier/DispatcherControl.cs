using System.Diagnostics;
using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// Kamailio's dispatcher (the UDP balancer) through kamcmd on its control socket: <c>dispatcher.list</c> for states,
/// <c>dispatcher.set_state</c> for maintenance, and a rewritten list file plus <c>dispatcher.reload</c> for weights
/// (each destination keeps its state across the reload).
/// </summary>
internal sealed class DispatcherControl(EnvironmentDefinition environment, RunDirectory run) : ISipBalancerControl
{
    /// <summary>The program that speaks Kamailio's binrpc.</summary>
    public const string Kamcmd = "kamcmd";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, int> _weights = environment.Regions.ToDictionary(region => region.Name, region => region.Weight, StringComparer.Ordinal);
    private readonly SemaphoreSlim _reload = new(1, 1);

    private string Socket => "unix:" + SipProxyTier.ControlSocketPath(run);

    public async Task<IReadOnlyList<BalancerServerState>> StatesAsync(CancellationToken cancellationToken) =>
        ParseList(await CommandAsync(cancellationToken, "dispatcher.list").ConfigureAwait(false), environment);

    public async Task SetWeightsAsync(IReadOnlyDictionary<string, int> weights, CancellationToken cancellationToken)
    {
        await _reload.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var before = await StatesAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (region, weight) in weights)
            {
                _weights[region] = weight;
            }

            var list = KamailioConfig.DispatcherList(environment, _weights);
            // Keep every destination's state: the reload reads the flags from the file.
            foreach (var state in before)
            {
                var flags = state.Status switch
                {
                    BalancerServerStatus.Up => 8,
                    BalancerServerStatus.Maintenance or BalancerServerStatus.Draining => 4,
                    _ => KamailioConfig.InactiveProbed,
                };
                var uri = KamailioConfig.DispatcherUri(environment, environment.Region(state.Region));
                list = list.Replace(string.Create(CultureInfo.InvariantCulture, $" {uri} {KamailioConfig.InactiveProbed} "), string.Create(CultureInfo.InvariantCulture, $" {uri} {flags} "), StringComparison.Ordinal);
            }

            await File.WriteAllTextAsync(run.PathOf(SipProxyTier.DispatcherListFile), list, cancellationToken).ConfigureAwait(false);
            await CommandAsync(cancellationToken, "dispatcher.reload").ConfigureAwait(false);
        }
        finally
        {
            _reload.Release();
        }
    }

    public async Task SetAdminStateAsync(string region, BalancerAdminState state, CancellationToken cancellationToken)
    {
        var flags = state == BalancerAdminState.Ready ? "ap" : "dp";
        await CommandAsync(cancellationToken, "dispatcher.set_state", flags,
            KamailioConfig.DispatcherSet.ToString(CultureInfo.InvariantCulture), KamailioConfig.DispatcherUri(environment, environment.Region(region))).ConfigureAwait(false);
    }

    /// <summary>The destinations of <c>dispatcher.list</c> (URI, FLAGS, RWEIGHT lines), mapped back to regions by URI.</summary>
    internal static List<BalancerServerState> ParseList(string text, EnvironmentDefinition environment)
    {
        var byUri = environment.Regions.ToDictionary(region => KamailioConfig.DispatcherUri(environment, region), region => region.Name, StringComparer.Ordinal);
        var states = new List<BalancerServerState>();
        string? uri = null;
        string? flags = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("URI:", StringComparison.Ordinal))
            {
                uri = line[4..].Trim();
                flags = null;
            }
            else if (line.StartsWith("FLAGS:", StringComparison.Ordinal))
            {
                flags = line[6..].Trim();
            }
            else if (line.StartsWith("RWEIGHT:", StringComparison.Ordinal) && uri is not null && flags is not null && byUri.TryGetValue(uri, out var region))
            {
                var weight = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
                states.Add(new BalancerServerState(region, StatusOf(flags), flags, weight, flags));
                uri = null;
            }
        }

        return [.. states.OrderBy(state => environment.Regions.ToList().FindIndex(region => region.Name == state.Region))];
    }

    /// <summary>The dispatcher's first flag: A active, T trying (failing, still used), I inactive, D disabled.</summary>
    internal static BalancerServerStatus StatusOf(string flags) => flags.FirstOrDefault() switch
    {
        'A' or 'T' => BalancerServerStatus.Up,
        'D' => BalancerServerStatus.Maintenance,
        _ => BalancerServerStatus.Down,
    };

    private async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var kamcmd = Executables.Resolve(Kamcmd)
            ?? throw new SipBalancerException($"{Kamcmd} is not installed: apt-get install -y kamailio.", string.Join(' ', arguments));
        var start = new ProcessStartInfo(kamcmd)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-s");
        start.ArgumentList.Add(Socket);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            var text = await output.ConfigureAwait(false);
            var error = await errors.ConfigureAwait(false);
            if (process.ExitCode != 0 || text.StartsWith("error", StringComparison.OrdinalIgnoreCase))
            {
                throw new SipBalancerException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"The dispatcher ({Socket}) refused '{string.Join(' ', arguments)}' (kamcmd exit {process.ExitCode}): {new StringBuilder(text).Append(error).ToString().Trim()}"),
                    string.Join(' ', arguments));
            }

            return text;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill();
            throw new SipBalancerException($"The dispatcher ({Socket}) did not answer '{string.Join(' ', arguments)}' within {CommandTimeout.TotalSeconds} s. Is the balancer running?",
                string.Join(' ', arguments));
        }
    }
}
