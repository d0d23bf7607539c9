using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Links;

/// <summary>
/// Gives every region's TCP services one link-facing address valid from every region, and routes each connection
/// by the caller's source address: from another region's block into the directed link (e.g. a caller in Abuja to
/// Lagos's Redis goes through <c>abuja-lagos-redis</c>), from the same region straight to the service. A caller from
/// outside every region's block is refused (closed at once): it would otherwise cross regions without a link, and
/// every inter-region byte must cross one — a server sending from the wrong address shows up at once.
/// </summary>
/// <remarks>
/// Why: Redis replicas and Sentinels announce one address (replica-announce-ip, sentinel announce-ip) that peers
/// in every region then dial, so a per-observer gateway address cannot be announced. Redis and Sentinel open their
/// outgoing connections from their first bind address, so the caller's source address tells its region. The link
/// proxies stay the per-pair control points (Toxiproxy API): cutting abuja-lagos-redis cuts exactly that path.
/// The link-facing address of a service is <c>&lt;region block&gt;.200</c> on the service's port.
/// </remarks>
public sealed class LinkSwitchboard : IAsyncDisposable
{
    /// <summary>The host number of every region's link-facing address.</summary>
    public const int LinkFacingHost = 200;

    private readonly EnvironmentDefinition _environment;
    private readonly IReadOnlyList<InterRegionLink> _plan;
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly HashSet<Socket> _open = [];
    private readonly CancellationTokenSource _stopping = new();

    private LinkSwitchboard(EnvironmentDefinition environment, IReadOnlyList<InterRegionLink> plan)
    {
        _environment = environment;
        _plan = plan;
    }

    /// <summary>Where every region reaches <paramref name="service"/> of <paramref name="region"/>.</summary>
    public static IPEndPoint LinkFacingEndPoint(RegionDefinition region, RegionService service)
    {
        ArgumentNullException.ThrowIfNull(region);
        var bytes = region.AddressBlock.BaseAddress.GetAddressBytes();
        bytes[3] = LinkFacingHost;
        return new IPEndPoint(new IPAddress(bytes), region.EndPointOf(service).Port);
    }

    /// <summary>
    /// Each region's Redis by the address:port the Sentinels know it at ("127.0.3.200:6379" → "asaba's Redis"): a
    /// Sentinel's log names servers by address only, and the servers' events name them for a reader.
    /// </summary>
    public static IReadOnlyDictionary<string, string> RedisNames(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return environment.Regions.ToDictionary(region => LinkFacingEndPoint(region, RegionService.Redis).ToString(), region => $"{region.Name}'s Redis", StringComparer.Ordinal);
    }

    /// <summary>Listens on every link-facing address of the environment. The links of <paramref name="plan"/> must exist.</summary>
    public static LinkSwitchboard Start(EnvironmentDefinition environment, IReadOnlyList<InterRegionLink> plan)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var region in environment.Regions)
        {
            var linkFacing = LinkFacingEndPoint(region, RegionService.Redis).Address;
            if (region.Bindings().Any(binding => binding.EndPoint.Address.Equals(linkFacing)))
            {
                throw new InvalidOperationException(
                    $"Region {region.Name} has a service on {linkFacing}, its link-facing address: keep service addresses below .{InterRegionLinkPlan.FirstGatewayHost}.");
            }
        }

        var switchboard = new LinkSwitchboard(environment, plan);
        try
        {
            foreach (var region in environment.Regions)
            {
                foreach (var service in InterRegionLinkPlan.TcpServices)
                {
                    switchboard.Listen(region, service);
                }
            }
        }
        catch (SocketException exception)
        {
            _ = switchboard.DisposeAsync().AsTask();
            throw new InvalidOperationException(
                $"The link switchboard of environment {environment.Name} could not listen: {exception.Message}. Is another topology running on these addresses?",
                exception);
        }

        return switchboard;
    }

    /// <summary>
    /// Where a connection from <paramref name="source"/> to <paramref name="service"/> of <paramref name="region"/> goes;
    /// null when the caller is in no region (refused).
    /// </summary>
    public IPEndPoint? RouteFor(IPAddress source, RegionDefinition region, RegionService service)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(region);
        var caller = _environment.Regions.FirstOrDefault(candidate => candidate.AddressBlock.Contains(source));
        if (caller is null)
        {
            return null;
        }

        return caller.Name == region.Name
            ? region.EndPointOf(service)
            : _plan.Single(link => link.From == caller.Name && link.To == region.Name && link.Service == service).Listen;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        lock (_open)
        {
            foreach (var socket in _open)
            {
                socket.Dispose();
            }
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void Listen(RegionDefinition region, RegionService service)
    {
        var endpoint = LinkFacingEndPoint(region, service);
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listeners.Add(listener);
        listener.Bind(endpoint);
        listener.Listen(512);
        _acceptLoops.Add(AcceptAsync(listener, region, service));
    }

    private async Task AcceptAsync(Socket listener, RegionDefinition region, RegionService service)
    {
        while (true)
        {
            Socket caller;
            try
            {
                caller = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            if (RouteFor(((IPEndPoint)caller.RemoteEndPoint!).Address, region, service) is { } route)
            {
                _ = RelayAsync(caller, route);
            }
            else
            {
                caller.Dispose();
            }
        }
    }

    private async Task RelayAsync(Socket caller, IPEndPoint target)
    {
        var onward = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        caller.NoDelay = true;
        Track(caller, onward);
        try
        {
            // A cut link refuses this connect: the caller's connection then closes at once, as a partition would.
            await onward.ConnectAsync(target, _stopping.Token).ConfigureAwait(false);
            await Task.WhenAll(PumpAsync(caller, onward), PumpAsync(onward, caller)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The link or a peer went away: nothing more to carry.
        }
        finally
        {
            Untrack(caller, onward);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side ended abruptly: end the other too.
            from.Dispose();
            to.Dispose();
        }
    }

    private void Track(params Socket[] sockets)
    {
        lock (_open)
        {
            _open.UnionWith(sockets);
        }
    }

    private void Untrack(params Socket[] sockets)
    {
        lock (_open)
        {
            foreach (var socket in sockets)
            {
                _open.Remove(socket);
                socket.Dispose();
            }
        }
    }
}
