using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The few Redis commands the harness needs (SET, GET, INFO, ROLE, REPLICAOF, SENTINEL …), spoken in RESP over one
/// short-lived connection per command: readiness probes and measurements, not a general client.
/// </summary>
public static class RespClient
{
    /// <summary>Sends one command; returns the reply (string, long, null, or object?[] for arrays).</summary>
    /// <exception cref="RespErrorException">The server answered with an error reply.</exception>
    public static async Task<object?> CommandAsync(IPEndPoint server, CancellationToken cancellationToken, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(command);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        using var reader = new BufferedStream(stream);
        return await ReadReplyAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>INFO &lt;section&gt; as key → value.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> InfoAsync(IPEndPoint server, string section, CancellationToken cancellationToken = default)
    {
        var text = (string?)await CommandAsync(server, cancellationToken, "INFO", section).ConfigureAwait(false) ?? string.Empty;
        return text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#') && line.Contains(':', StringComparison.Ordinal))
            .Select(line => line.Split(':', 2))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
    }

    private static async Task<object?> ReadReplyAsync(Stream reader, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false);
        var payload = line[1..];
        switch (line[0])
        {
            case '+':
                return payload;
            case '-':
                throw new RespErrorException(payload);
            case ':':
                return long.Parse(payload, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(payload, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var bulk = new byte[length + 2];
                await reader.ReadExactlyAsync(bulk, cancellationToken).ConfigureAwait(false);
                return Encoding.UTF8.GetString(bulk, 0, length);
            case '*':
                var count = int.Parse(payload, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadReplyAsync(reader, cancellationToken).ConfigureAwait(false);
                }

                return items;
            default:
                throw new RespErrorException($"unexpected reply '{line}'");
        }
    }

    private static async Task<string> ReadLineAsync(Stream reader, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await reader.ReadExactlyAsync(one, cancellationToken).ConfigureAwait(false);
            if (one[0] == '\n' && line.Length > 0 && line[^1] == '\r')
            {
                return line.ToString(0, line.Length - 1);
            }

            line.Append((char)one[0]);
        }
    }
}

/// <summary>A Redis error reply (e.g. "READONLY You can't write against a read only replica.").</summary>
public sealed class RespErrorException(string message) : Exception(message);
