using System.Collections.Concurrent;
using System.Net;
using VoxGuard.Resilience.Topology.DataTier;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// Open Redis connections kept per server for reuse, one command at a time each: a session write then costs one
/// round trip, not a connection set-up too (a second link round trip for a cross-region master).
/// </summary>
internal sealed class RespConnectionPool : IAsyncDisposable
{
    private const int MaxIdlePerServer = 64;
    private readonly ConcurrentDictionary<IPEndPoint, ConcurrentBag<RespConnection>> _idle = new();

    /// <summary>Runs one command on a pooled (or new) connection to <paramref name="server"/>.</summary>
    public async Task<object?> CommandAsync(IPEndPoint server, CancellationToken cancellationToken, params string[] command)
    {
        var idle = _idle.GetOrAdd(server, _ => []);
        var connection = idle.TryTake(out var pooled) ? pooled : await RespConnection.OpenAsync(server, cancellationToken).ConfigureAwait(false);
        try
        {
            return await connection.CommandAsync(cancellationToken, command).ConfigureAwait(false);
        }
        finally
        {
            if (connection.IsBroken || idle.Count >= MaxIdlePerServer)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                idle.Add(connection);
            }
        }
    }

    /// <summary>Drops every idle connection to <paramref name="server"/> (after it failed: they are likely dead too).</summary>
    public async Task ForgetAsync(IPEndPoint server)
    {
        if (_idle.TryGetValue(server, out var idle))
        {
            while (idle.TryTake(out var connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in _idle.Keys)
        {
            await ForgetAsync(server).ConfigureAwait(false);
        }
    }
}
