using System.Collections.Concurrent;
using System.Net.Sockets;
using Npgsql;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// Records call events in the current PostgreSQL primary (table voxguard_writes), acknowledging a write only after
/// its commit returned. When a write fails it looks for the node that is not in recovery (its own region first) and
/// retries once there under a new id — the first attempt's fate is unknown, which the RPO accounting allows for.
/// </summary>
public sealed class PostgresWriter : IDisposable
{
    private const string User = "postgres";
    private const string SynchronousWaitCancelled = "canceling wait for synchronous replication";
    private readonly StoreRoutes _routes;
    private readonly WriteLog _log;
    private readonly PrimaryTracker _primary;

    // One pooled data source per region's node, built once: a connection string per write cost a parse and a pool
    // lookup each time.
    private readonly ConcurrentDictionary<string, NpgsqlDataSource> _pools = new(StringComparer.Ordinal);

    public PostgresWriter(StoreRoutes routes, RegionDefinition initialPrimary, WriteLog log)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(initialPrimary);
        ArgumentNullException.ThrowIfNull(log);
        _routes = routes;
        _log = log;
        _primary = new PrimaryTracker(initialPrimary, FindPrimaryAsync);
    }

    /// <summary>The region this engine currently writes call events to.</summary>
    public RegionDefinition Primary => _primary.Current;

    /// <summary>Writes one call event; true once a commit was acknowledged (first try or the retry).</summary>
    public async Task<bool> WriteAsync(string id, string callId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var target = await _primary.CurrentAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var writeId = attempt == 0 ? id : $"{id}-retry";
            _log.Record(WriteOutcome.Attempted, writeId, WriteStore.Postgres, target.Name);
            try
            {
                await using var connection = Pool(target).CreateConnection();
                string? unreplicated = null;
                connection.Notice += (_, notice) =>
                {
                    if (notice.Notice.MessageText.StartsWith(SynchronousWaitCancelled, StringComparison.Ordinal))
                    {
                        unreplicated = notice.Notice.MessageText;
                    }
                };
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("INSERT INTO voxguard_writes (id, region, call_id) VALUES ($1, $2, $3)", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = writeId });
                command.Parameters.Add(new NpgsqlParameter { Value = _routes.Home.Name });
                command.Parameters.Add(new NpgsqlParameter { Value = callId });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                if (unreplicated is not null)
                {
                    // The command timed out waiting for a synchronous standby; PostgreSQL then completes the commit
                    // locally with only a warning. Acknowledging it would turn fencing into a local commit (an
                    // isolated primary's writes would count as safe), so it is a failure of unknown fate, not retried.
                    _log.Record(WriteOutcome.Failed, writeId, WriteStore.Postgres, target.Name, unreplicated);
                    return false;
                }

                _log.Record(WriteOutcome.Acknowledged, writeId, WriteStore.Postgres, target.Name);
                return true;
            }
            catch (Exception exception) when (exception is NpgsqlException or SocketException or TimeoutException or IOException && !cancellationToken.IsCancellationRequested)
            {
                _log.Record(WriteOutcome.Failed, writeId, WriteStore.Postgres, target.Name, exception.Message);
                if (MeansServerIsGone(exception))
                {
                    // Its pooled connections are dead too. Not after a mere timeout: clearing a busy pool turns
                    // overload into a storm of new connections (a backend fork each), which only adds to it.
                    Pool(target).Clear();
                }

                target = await _primary.ReconsiderAsync(target, cancellationToken).ConfigureAwait(false);
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var pool in _pools.Values)
        {
            pool.Dispose();
        }
    }

    private NpgsqlDataSource Pool(RegionDefinition target) =>
        _pools.GetOrAdd(target.Name, _ => NpgsqlDataSource.Create(ConnectionString(target, pooled: true)));

    private static bool MeansServerIsGone(Exception exception) =>
        exception is SocketException or IOException
        || exception.InnerException is SocketException or IOException or EndOfStreamException
        || exception is PostgresException { SqlState: "57P01" or "57P02" or "57P03" }; // shut down, crashed, starting

    private async Task<RegionDefinition?> FindPrimaryAsync(CancellationToken cancellationToken)
    {
        foreach (var region in _routes.SearchOrder)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString(region, pooled: false));
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
                if (!(bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    return region;
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or SocketException or TimeoutException or IOException)
            {
                // down, cut off or hung: not where writes can go
            }
        }

        return null;
    }

    private string ConnectionString(RegionDefinition target, bool pooled)
    {
        var endpoint = _routes.To(target, RegionService.Postgres);
        // 20 per target: three engines stay well under a node's 100 connections however they are spread. A pooled
        // connection runs nothing but the insert, so it needs no DISCARD ALL on its return to the pool, and the insert
        // is prepared once per connection (the server plans it once, not per call). A timed-out insert's connection is
        // closed at once (Cancellation Timeout=-1): the write has failed either way, and waiting up to 2 s more for a
        // cancellation (Npgsql's default) held the pool's connections exactly when the primary was slow — at 300
        // calls/s, 4 of 5 loads collapsed to 13–25 % answered, every later write "pool exhausted"; without the wait 4
        // of 5 answered 100 %. The uncancelled insert may still commit beside its retry: a failed write's fate is
        // unknown, so counts of stored calls go by call id (docs/measured-facts.md, "A slow primary, and the
        // cancellations that held the pool").
        return $"Host={endpoint.Address};Port={endpoint.Port};Username={User};Database=postgres;Timeout=2;Command Timeout=2;Cancellation Timeout=-1;" +
            (pooled ? "Pooling=true;Maximum Pool Size=20;No Reset On Close=true;Max Auto Prepare=4;Auto Prepare Min Usages=2" : "Pooling=false");
    }
}
