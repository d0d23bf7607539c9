using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Engine;

/// <summary>What the data path did for one call.</summary>
/// <param name="Postgres">The call event was acknowledged by a PostgreSQL primary.</param>
/// <param name="Redis">The session update was acknowledged by a Redis master.</param>
public sealed record DataPathResult(bool Postgres, bool Redis)
{
    /// <summary>Both writes acknowledged: the call can be answered.</summary>
    public bool Succeeded => Postgres && Redis;

    /// <summary>Which store failed, for a SIP Reason / Warning header.</summary>
    public string? Failure => Succeeded ? null : string.Join(" and ", new[] { Postgres ? null : "postgres", Redis ? null : "redis" }.OfType<string>()) + " write not acknowledged";
}

/// <summary>
/// The real ACM engine's data path for each call, with unique write ids: the call event into the current PostgreSQL
/// primary and the session update into the current Redis master, side by side; both writes are logged.
/// </summary>
public sealed class CallDataPath : IDisposable
{
    private readonly WriteLog _log;
    private readonly string _idPrefix;
    private long _sequence;

    /// <summary>The data path of <c>region</c>'s engine; <c>links</c> as <see cref="StoreRoutes"/> takes them (null: the environment's own plan).</summary>
    public CallDataPath(EnvironmentDefinition environment, string region, string writeLogPath, IReadOnlyList<Topology.Links.InterRegionLink>? links = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var home = environment.Region(region);
        var routes = new StoreRoutes(environment, home, links);
        _log = WriteLog.Open(writeLogPath);
        Postgres = new PostgresWriter(routes, environment.Primary, _log);
        Redis = new RedisWriter(routes, environment.Primary, _log, environment.Database.Commit);
        // Unique across engine restarts: region, process and start time.
        _idPrefix = string.Create(CultureInfo.InvariantCulture, $"{home.Name}-{Environment.ProcessId}-{DateTime.UtcNow:HHmmssfff}-");
    }

    /// <summary>The PostgreSQL side.</summary>
    public PostgresWriter Postgres { get; }

    /// <summary>The Redis side.</summary>
    public RedisWriter Redis { get; }

    /// <summary>Performs both writes of one call.</summary>
    public async Task<DataPathResult> RecordCallAsync(string callId, CancellationToken cancellationToken = default)
    {
        var id = _idPrefix + Interlocked.Increment(ref _sequence).ToString(CultureInfo.InvariantCulture);
        var postgres = Postgres.WriteAsync(id, callId, cancellationToken);
        var redis = Redis.WriteAsync(id, cancellationToken);
        return new DataPathResult(await postgres.ConfigureAwait(false), await redis.ConfigureAwait(false));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Redis.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Postgres.Dispose();
        _log.Dispose();
    }
}
