using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>HAProxy's admin stats socket: one command per connection (<c>show stat</c>, <c>set weight</c>, <c>set server</c>).</summary>
internal sealed class HaproxyControl(string socketPath) : ISipBalancerControl
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    public string SocketPath { get; } = socketPath;

    public async Task<IReadOnlyList<BalancerServerState>> StatesAsync(CancellationToken cancellationToken)
    {
        var csv = await CommandAsync("show stat", cancellationToken).ConfigureAwait(false);
        return ParseStat(csv);
    }

    public async Task SetWeightsAsync(IReadOnlyDictionary<string, int> weights, CancellationToken cancellationToken)
    {
        foreach (var (region, weight) in weights)
        {
            var command = string.Create(CultureInfo.InvariantCulture, $"set weight {HaproxyConfig.Backend}/{region} {weight}");
            ExpectEmpty(command, await CommandAsync(command, cancellationToken).ConfigureAwait(false));
        }
    }

    public async Task SetAdminStateAsync(string region, BalancerAdminState state, CancellationToken cancellationToken)
    {
        var word = state switch
        {
            BalancerAdminState.Ready => "ready",
            BalancerAdminState.Drain => "drain",
            BalancerAdminState.Maintenance => "maint",
            _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown admin state."),
        };
        var command = $"set server {HaproxyConfig.Backend}/{region} state {word}";
        ExpectEmpty(command, await CommandAsync(command, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The servers of the regions backend in <c>show stat</c> CSV (header line "# pxname,svname,…").</summary>
    internal static List<BalancerServerState> ParseStat(string csv)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines.FirstOrDefault(line => line.StartsWith("# ", StringComparison.Ordinal))
            ?? throw new FormatException($"show stat gave no header line: {csv[..Math.Min(csv.Length, 200)]}");
        var columns = header[2..].Split(',').Select((name, index) => (name, index)).ToDictionary(pair => pair.name, pair => pair.index, StringComparer.Ordinal);
        int Column(string name) => columns.TryGetValue(name, out var index) ? index : throw new FormatException($"show stat has no {name} column");
        var (proxy, server, status, weight, check) = (Column("pxname"), Column("svname"), Column("status"), Column("weight"), Column("check_status"));
        var states = new List<BalancerServerState>();
        foreach (var line in lines.Where(line => !line.StartsWith('#')))
        {
            var fields = line.Split(',');
            if (fields.Length <= check || fields[proxy] != HaproxyConfig.Backend || fields[server] is "BACKEND" or "FRONTEND")
            {
                continue;
            }

            states.Add(new BalancerServerState(
                fields[server],
                StatusOf(fields[status]),
                fields[status],
                int.Parse(fields[weight], CultureInfo.InvariantCulture),
                // "* L7OK": HAProxy marks a check in progress with "* " before the last result.
                fields[check].StartsWith("* ", StringComparison.Ordinal) ? fields[check][2..] : fields[check]));
        }

        return states;
    }

    /// <summary>HAProxy's status words: UP, "UP 1/3" (failing, still up), DOWN, "DOWN 1/2" (recovering), MAINT, DRAIN, NOLB.</summary>
    internal static BalancerServerStatus StatusOf(string status) =>
        status.StartsWith("UP", StringComparison.Ordinal) ? BalancerServerStatus.Up
        : status.StartsWith("MAINT", StringComparison.Ordinal) ? BalancerServerStatus.Maintenance
        : status.StartsWith("DRAIN", StringComparison.Ordinal) || status.StartsWith("NOLB", StringComparison.Ordinal) ? BalancerServerStatus.Draining
        : BalancerServerStatus.Down;

    private void ExpectEmpty(string command, string reply)
    {
        if (!string.IsNullOrWhiteSpace(reply))
        {
            throw new SipBalancerException($"HAProxy ({SocketPath}) refused '{command}': {reply.Trim()}", command);
        }
    }

    private async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), timeout.Token).ConfigureAwait(false);
            var reply = new MemoryStream();
            var buffer = new byte[16384];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
            {
                reply.Write(buffer, 0, read);
            }

            return Encoding.ASCII.GetString(reply.GetBuffer(), 0, (int)reply.Length);
        }
        catch (Exception exception) when (exception is SocketException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new SipBalancerException(
                $"HAProxy's stats socket {SocketPath} did not answer '{command}' ({exception.Message.TrimEnd('.')}). Is the balancer running?",
                command, exception);
        }
    }
}
