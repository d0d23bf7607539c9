using System.Net;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>A fresh redis-server started from a stored backup; disposing it kills it.</summary>
public sealed class RestoredRedis : IAsyncDisposable
{
    internal RestoredRedis(ManagedProcess process, RedisBackup backup, IPEndPoint endPoint, string directory, TimeSpan loadTime)
    {
        Process = process;
        Backup = backup;
        EndPoint = endPoint;
        Directory = directory;
        LoadTime = loadTime;
    }

    /// <summary>The server.</summary>
    public ManagedProcess Process { get; }

    /// <summary>What it was started from.</summary>
    public RedisBackup Backup { get; }

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Its data directory (in the run directory).</summary>
    public string Directory { get; }

    /// <summary>From its start until the dataset was loaded.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>DBSIZE: how many keys it holds.</summary>
    public async Task<long> KeyCountAsync(CancellationToken cancellationToken = default) =>
        (long)(await RespClient.CommandAsync(EndPoint, cancellationToken, "DBSIZE").ConfigureAwait(false))!;

    /// <summary>GET <paramref name="key"/>.</summary>
    public async Task<string?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        (string?)await RespClient.CommandAsync(EndPoint, cancellationToken, "GET", key).ConfigureAwait(false);

    /// <summary>Kills it.</summary>
    public async ValueTask DisposeAsync() => await Process.DisposeAsync().ConfigureAwait(false);
}
