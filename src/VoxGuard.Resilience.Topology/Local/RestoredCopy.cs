using System.Net;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>Which data stores a backup or a restore acts on.</summary>
[Flags]
public enum TopologyStores
{
    /// <summary>PostgreSQL (pgBackRest).</summary>
    Postgres = 1,

    /// <summary>Redis (the guide's RDB procedure, or the AOF with <c>backups.redis.appendonly</c>).</summary>
    Redis = 2,

    /// <summary>Both.</summary>
    All = Postgres | Redis,
}

/// <summary>What to restore beside a running topology (<see cref="LocalTopology.RestoreCopyAsync"/>).</summary>
/// <param name="Repository">The repository restored from (repo1, repo2); the restore runs in its region.</param>
public sealed record RestoreCopyRequest(string Repository = "repo1")
{
    /// <summary>The stores restored (default both).</summary>
    public TopologyStores Stores { get; init; } = TopologyStores.All;

    /// <summary>
    /// Replay archived WAL up to this time (the backup pgBackRest picks ended before it; the Redis backup is the latest
    /// saved at or before it); null: the latest backups, and the WAL to the end of the archive.
    /// </summary>
    public DateTimeOffset? TargetTime { get; init; }
}

/// <summary>
/// A copy of the topology's data restored from a repository into new data directories of the run and served on an
/// address of its own (host 50 + n of the repository's region's block: PostgreSQL on its port 5432, Redis on 6379),
/// beside the running topology and never over it. The topology disposes it with itself; a killed run's reaper finds its
/// processes by their PID files and PostgreSQL by its postmaster.pid one level below the run directory.
/// </summary>
public sealed class RestoredCopy : IAsyncDisposable
{
    internal RestoredCopy(int number, IPAddress address, RestoredPostgres? postgres, WritesTableState? table, RestoredRedis? redis, IReadOnlyList<TopologyOperation> steps)
    {
        Number = number;
        Address = address;
        Postgres = postgres;
        Table = table;
        Redis = redis;
        Steps = steps;
    }

    /// <summary>Its number in the run (1 for the first restore).</summary>
    public int Number { get; }

    /// <summary>The address its servers listen on.</summary>
    public IPAddress Address { get; }

    /// <summary>The restored PostgreSQL (replayed and promoted), or null when it was not asked for.</summary>
    public RestoredPostgres? Postgres { get; }

    /// <summary>The restored writes table as the guide's step 4 checks it (row count, md5 of the ids, amcheck).</summary>
    public WritesTableState? Table { get; }

    /// <summary>The restored Redis (loaded), or null when it was not asked for.</summary>
    public RestoredRedis? Redis { get; }

    /// <summary>Each step of the restore with its timing, in order.</summary>
    public IReadOnlyList<TopologyOperation> Steps { get; }

    /// <summary>Kills its servers (their data directories go with the run directory).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Redis is not null)
        {
            await Redis.DisposeAsync().ConfigureAwait(false);
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
