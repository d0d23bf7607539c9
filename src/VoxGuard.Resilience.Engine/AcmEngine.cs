using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// The ACM engine stand-in of one region: a SIP UAS at the region's engine address that, for every INVITE, performs
/// the data path (call event to the PostgreSQL primary, session update to the Redis master) and answers 200 stamped
/// with its region once both writes are acknowledged — or 500 naming the store that failed, so a data-tier outage
/// shows up as failed calls.
/// </summary>
public sealed class AcmEngine : IAsyncDisposable
{
    private readonly CallDataPath _dataPath;
    private readonly SipUserAgentServer _server;

    private AcmEngine(CallDataPath dataPath, SipUserAgentServer server)
    {
        _dataPath = dataPath;
        _server = server;
    }

    /// <summary>The data path (its writers know where the primaries are now).</summary>
    public CallDataPath DataPath => _dataPath;

    /// <summary>The UAS's counters.</summary>
    public SipUasCounters Counters => _server.Counters;

    /// <summary>
    /// Starts listening on the region's engine address (UDP, as the proxies forward over UDP). Other regions' stores are
    /// reached through <c>links</c>: null is the environment's own plan; docker-compose.chaos.yml passes its own.
    /// </summary>
    public static AcmEngine Start(EnvironmentDefinition environment, string region, string writeLogPath, IReadOnlyList<Topology.Links.InterRegionLink>? links = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var home = environment.Region(region);
        var dataPath = new CallDataPath(environment, home.Name, writeLogPath, links);
        try
        {
            var server = new SipUserAgentServer(new SipUasOptions
            {
                UdpEndPoint = home.Engine.EndPoint,
                ResponseHeaders = [new(SipProxyTier.RegionHeader, home.Name)],
                OnInvite = async (call, cancellationToken) =>
                {
                    var result = await dataPath.RecordCallAsync(call.CallId, cancellationToken).ConfigureAwait(false);
                    return result.Succeeded ? CallDecision.Answer : CallDecision.Reject(500, result.Failure);
                },
            });
            return new AcmEngine(dataPath, server);
        }
        catch
        {
            dataPath.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        _dataPath.Dispose();
    }
}
