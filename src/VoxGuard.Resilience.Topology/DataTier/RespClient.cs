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
    /// <summary>Sends one command over a new connection; returns the reply (string, long, null, or object?[] for arrays).</summary>
    /// <exception cref="RespErrorException">The server answered with an error reply.</exception>
    public static async Task<object?> CommandAsync(IPEndPoint server, CancellationToken cancellationToken, params string[] command)
    {
        await using var connection = await RespConnection.OpenAsync(server, cancellationToken).ConfigureAwait(false);
        return await connection.CommandAsync(cancellationToken, command).ConfigureAwait(false);
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

    internal static byte[] Encode(string[] command)
    {
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        return Encoding.UTF8.GetBytes(request.ToString());
    }

    internal static async Task<object?> ReadReplyAsync(Stream reader, CancellationToken cancellationToken)
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

/// <summary>
/// One open connection to a Redis server, one command at a time: for clients that send many commands (the engines'
/// session writes) and must not pay a connection set-up — a link round trip — for each.
/// </summary>
public sealed class RespConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _reader;

    private RespConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new BufferedStream(_stream);
    }

    /// <summary>Where it is connected.</summary>
    public IPEndPoint? Server => _socket.RemoteEndPoint as IPEndPoint;

    /// <summary>Set once a command failed midway: the stream may hold half a reply, so the connection must be dropped.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>Connects to <paramref name="server"/>.</summary>
    public static async Task<RespConnection> OpenAsync(IPEndPoint server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
            return new RespConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one command and reads its reply. An error reply leaves the connection usable; anything else breaks it.</summary>
    /// <exception cref="RespErrorException">The server answered with an error reply.</exception>
    public async Task<object?> CommandAsync(CancellationToken cancellationToken, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(command);
        ObjectDisposedException.ThrowIf(IsBroken, this);
        try
        {
            await _stream.WriteAsync(RespClient.Encode(command), cancellationToken).ConfigureAwait(false);
            return await RespClient.ReadReplyAsync(_reader, cancellationToken).ConfigureAwait(false);
        }
        catch (RespErrorException)
        {
            throw;
        }
        catch
        {
            IsBroken = true;
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        IsBroken = true;
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A Redis error reply (e.g. "READONLY You can't write against a read only replica.").</summary>
public sealed class RespErrorException(string message) : Exception(message);
