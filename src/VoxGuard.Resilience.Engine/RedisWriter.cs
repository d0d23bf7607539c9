using System.Net.Sockets;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// Updates session state in the current Redis master, which it learns from its own region's Sentinel before its first
/// write and after a refused one (as the real engine's client does), acknowledging a write only after the master's
/// reply. On a refused write (READONLY after a failover, connection refused, timeout) it asks the Sentinel again and
/// retries once under a new id. With the
/// environment's <c>commit: majority</c> a write counts only once a replica has it too (<c>WAIT 1</c>): the same rule
/// as PostgreSQL's synchronous standby, so a master lost with its region takes no acknowledged write with it.
/// </summary>
public sealed class RedisWriter : IAsyncDisposable
{
    /// <summary>The key prefix of every session write; the id follows.</summary>
    public const string KeyPrefix = "voxguard:write:";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);

    // Within the command timeout: a replica that has not confirmed in 1.5 s is as good as none.
    private const string ReplicaWaitMilliseconds = "1500";
    private readonly StoreRoutes _routes;
    private readonly WriteLog _log;
    private readonly PrimaryTracker _master;
    private readonly RespConnectionPool _connections = new();
    private readonly bool _waitForReplica;

    public RedisWriter(StoreRoutes routes, RegionDefinition initialMaster, WriteLog log, CommitRule commit = CommitRule.Async)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(initialMaster);
        ArgumentNullException.ThrowIfNull(log);
        _routes = routes;
        _log = log;
        _master = new PrimaryTracker(initialMaster, AskSentinelAsync);
        _waitForReplica = commit == CommitRule.Majority;
    }

    /// <summary>The region this engine currently writes session state to.</summary>
    public RegionDefinition Master => _master.Current;

    /// <summary>Writes one session update; true once the master acknowledged it (first try or the retry).</summary>
    public async Task<bool> WriteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var target = await _master.CurrentAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var writeId = attempt == 0 ? id : $"{id}-retry";
            _log.Record(WriteOutcome.Attempted, writeId, WriteStore.Redis, target.Name);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(CommandTimeout);
                await _connections.CommandAsync(_routes.To(target, RegionService.Redis), timeout.Token, "SET", KeyPrefix + writeId, _routes.Home.Name).ConfigureAwait(false);
                if (_waitForReplica && Convert.ToInt64(await _connections.CommandAsync(_routes.To(target, RegionService.Redis), timeout.Token, "WAIT", "1", ReplicaWaitMilliseconds).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) < 1)
                {
                    // Written on the master only: its fate is unknown (a failover may drop it), so it is not acknowledged.
                    _log.Record(WriteOutcome.Failed, writeId, WriteStore.Redis, target.Name, "no replica confirmed it (WAIT 1)");
                    return false;
                }

                _log.Record(WriteOutcome.Acknowledged, writeId, WriteStore.Redis, target.Name);
                return true;
            }
            catch (Exception exception) when (exception is RespErrorException or SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var timedOut = exception is OperationCanceledException;
                _log.Record(WriteOutcome.Failed, writeId, WriteStore.Redis, target.Name, timedOut ? "timed out" : exception.Message);
                if (!timedOut)
                {
                    // Its idle connections are likely dead too. Not after a mere timeout (the timed-out connection
                    // itself is dropped as broken): emptying a busy server's pool turns overload into a storm of new
                    // connections, each through a link for another region's master — as PostgresWriter learned.
                    await _connections.ForgetAsync(_routes.To(target, RegionService.Redis)).ConfigureAwait(false);
                }

                target = await _master.ReconsiderAsync(target, cancellationToken).ConfigureAwait(false);
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _connections.DisposeAsync();

    private async Task<RegionDefinition?> AskSentinelAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CommandTimeout);
            var reply = (object?[])(await RespClient.CommandAsync(_routes.Home.Sentinel.EndPoint, timeout.Token,
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", RedisTier.MasterName).ConfigureAwait(false))!;
            return _routes.RegionAt((string)reply[0]!, int.Parse((string)reply[1]!, System.Globalization.CultureInfo.InvariantCulture), RegionService.Redis);
        }
        catch (Exception exception) when (exception is RespErrorException or SocketException or IOException or OperationCanceledException or InvalidCastException)
        {
            return null;
        }
    }
}
