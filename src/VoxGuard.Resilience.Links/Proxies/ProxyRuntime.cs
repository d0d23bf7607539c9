using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>
/// One named proxy: its listener, its live connections and its toxics. Every change of
/// toxics is applied to the connections already open, not only to new ones. A proxy is a TCP
/// link (Toxiproxy's) or a UDP link (<see cref="UdpRelay"/>: datagrams, per-datagram toxics).
/// </summary>
internal sealed class ProxyRuntime
{
    private readonly object _gate = new();
    private readonly LinkClock _clock;
    private readonly Func<int> _nextSeed;
    private readonly List<ToxicDefinition> _toxics = [];
    private readonly Dictionary<LinkConnection, Task> _connections = [];
    private readonly Dictionary<Socket, Task> _held = [];
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private UdpRelay? _udp;
    private LinkSilence _silence = new();

    // A UDP link reads its stream's toxics per datagram: arrays replaced whole on every change.
    private volatile ToxicDefinition[] _upstreamToxics = [];
    private volatile ToxicDefinition[] _downstreamToxics = [];

    public ProxyRuntime(string name, string listen, string upstream, LinkClock clock, Func<int> nextSeed, string protocol = LinkProtocols.Tcp)
    {
        Name = name;
        Listen = listen;
        Upstream = upstream;
        Protocol = protocol;
        _clock = clock;
        _nextSeed = nextSeed;
    }

    public string Name { get; }

    /// <summary>Where the upstream connections leave from, by upstream; null: the kernel's choice.</summary>
    public Func<IPEndPoint, IPAddress?>? UpstreamSource { get; init; }

    /// <summary>tcp or udp (<see cref="LinkProtocols"/>).</summary>
    public string Protocol { get; }

    /// <summary>The listen address; once listening, the resolved one (port 0 becomes the real port).</summary>
    public string Listen { get; private set; }

    public string Upstream { get; private set; }

    public bool Enabled => _listener is not null || _udp is not null;

    /// <summary>Live TCP connections, or a UDP link's client sessions.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count + _held.Count + (_udp?.SessionCount ?? 0);
            }
        }
    }

    public IReadOnlyList<ToxicDefinition> Toxics
    {
        get
        {
            lock (_gate)
            {
                // Toxiproxy lists upstream toxics first, then downstream, each in the order added.
                return [.. _toxics.Where(t => t.Direction == ToxicStreams.Upstream), .. _toxics.Where(t => t.Direction == ToxicStreams.Downstream)];
            }
        }
    }

    /// <summary>Binds and starts accepting. Throws <see cref="LinkApiError"/> (500) when the address cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancel = default)
    {
        if (Enabled)
        {
            return;
        }

        if (Protocol == LinkProtocols.Udp)
        {
            await StartUdpAsync(cancel).ConfigureAwait(false);
            return;
        }

        IPEndPoint endpoint;
        try
        {
            endpoint = await HostPort.ResolveAsync(Listen, cancel).ConfigureAwait(false);
        }
        catch (FormatException exception)
        {
            // Go's wording: an address it cannot parse is not repeated after "tcp".
            throw new LinkApiError(500, $"listen tcp: {exception.Message}");
        }
        catch (SocketException exception)
        {
            throw new LinkApiError(500, $"listen tcp {Listen}: {exception.Message}");
        }

        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            AllowRebindAfterClose(listener);
            listener.Bind(endpoint);
            listener.Listen(512);
        }
        catch (SocketException exception)
        {
            listener.Dispose();
            throw new LinkApiError(500, $"listen tcp {Listen}: bind: {LowerFirst(exception.Message)}");
        }

        Listen = HostPort.Format((IPEndPoint)listener.LocalEndPoint!);
        _silence = new LinkSilence(); // a cut before it silenced the connections it closed, not the ones to come
        _listener = listener;
        _acceptLoop = AcceptAsync(listener);
    }

    /// <summary>
    /// Stops every connection through the link delivering bytes, and admits none, from this instant: one write, no lock
    /// (<see cref="LinkSilence"/>). <see cref="StopAsync"/> then closes them.
    /// </summary>
    public void Silence() => _silence.Set();

    /// <summary>
    /// Stops the link carrying bytes before it returns: the listener closed, every live connection closed (bytes a
    /// toxic still delays are dropped) and no connection still being set up admitted. The task it returns ends once
    /// the accept loop and every relay have ended. Several links are cut together by <see cref="Silence"/> on each
    /// first (<see cref="ProxyCollection.SetEnabledAsync"/>).
    /// </summary>
    public Task StopAsync()
    {
        Socket? listener;
        UdpRelay? udp;
        Task acceptLoop;
        Task[] running;
        lock (_gate)
        {
            listener = _listener;
            _listener = null; // from here RelayAsync admits no connection it is still setting up
            udp = _udp;
            _udp = null;
            acceptLoop = _acceptLoop;
            foreach (var connection in _connections.Keys.ToArray())
            {
                connection.Close();
            }

            running = listener is null ? [] : [.. _connections.Values, .. ReleaseHeld()];
        }

        listener?.Dispose();
        var udpStopped = udp?.DisposeAsync().AsTask() ?? Task.CompletedTask;
        return listener is null ? udpStopped : Task.WhenAll([udpStopped, acceptLoop, .. running]);
    }

    /// <summary>Applies a new listen address and upstream; a running proxy restarts on them.</summary>
    public async Task ReconfigureAsync(string listen, string upstream, CancellationToken cancel = default)
    {
        if (listen == Listen && upstream == Upstream)
        {
            return;
        }

        var wasEnabled = Enabled;
        await StopAsync().ConfigureAwait(false);
        Listen = listen;
        Upstream = upstream;
        if (wasEnabled)
        {
            await StartAsync(cancel).ConfigureAwait(false);
        }
    }

    public ToxicDefinition? FindToxic(string name)
    {
        lock (_gate)
        {
            return _toxics.Find(toxic => toxic.Name == name);
        }
    }

    /// <summary>Adds a toxic; false when one of that name exists already (in either stream).</summary>
    /// <exception cref="LinkApiError">400: a toxic that acts on a byte stream, on a UDP link.</exception>
    public bool TryAddToxic(ToxicDefinition toxic)
    {
        RefuseOnUdpIfStreamOnly(toxic);
        lock (_gate)
        {
            if (_toxics.Exists(existing => existing.Name == toxic.Name))
            {
                return false;
            }

            _toxics.Add(toxic);
            PublishUdpToxics();
            foreach (var connection in _connections.Keys)
            {
                connection.PipeFor(toxic.Direction).AddToxic(toxic);
            }

            return true;
        }
    }

    public bool TryUpdateToxic(ToxicDefinition toxic)
    {
        lock (_gate)
        {
            var index = _toxics.FindIndex(existing => existing.Name == toxic.Name);
            if (index < 0)
            {
                return false;
            }

            _toxics[index] = toxic;
            PublishUdpToxics();
            foreach (var connection in _connections.Keys)
            {
                connection.PipeFor(toxic.Direction).UpdateToxic(toxic);
            }

            if (!IsSilent())
            {
                ReleaseHeld();
            }

            return true;
        }
    }

    public bool TryRemoveToxic(string name)
    {
        lock (_gate)
        {
            var toxic = _toxics.Find(existing => existing.Name == name);
            if (toxic is null)
            {
                return false;
            }

            _toxics.Remove(toxic);
            PublishUdpToxics();
            foreach (var connection in _connections.Keys)
            {
                connection.PipeFor(toxic.Direction).RemoveToxic(name);
            }

            if (!IsSilent())
            {
                ReleaseHeld();
            }

            return true;
        }
    }

    public void RemoveAllToxics()
    {
        foreach (var toxic in Toxics)
        {
            TryRemoveToxic(toxic.Name);
        }
    }

    private async Task StartUdpAsync(CancellationToken cancel)
    {
        IPEndPoint listen;
        IPEndPoint upstream;
        try
        {
            listen = await HostPort.ResolveAsync(Listen, cancel).ConfigureAwait(false);
            upstream = await HostPort.ResolveAsync(Upstream, cancel).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is FormatException or SocketException)
        {
            throw new LinkApiError(500, $"listen udp {Listen} → {Upstream}: {exception.Message}");
        }

        try
        {
            var relay = UdpRelay.Start(listen, upstream, _clock, stream => stream == ToxicStreams.Upstream ? _upstreamToxics : _downstreamToxics, _nextSeed());
            lock (_gate)
            {
                _udp = relay;
            }

            Listen = HostPort.Format(relay.LocalEndPoint);
        }
        catch (SocketException exception)
        {
            throw new LinkApiError(500, $"listen udp {Listen}: bind: {LowerFirst(exception.Message)}");
        }
    }

    private void RefuseOnUdpIfStreamOnly(ToxicDefinition toxic)
    {
        if (Protocol == LinkProtocols.Udp && !UdpRelay.SupportedToxics.Contains(toxic.Type))
        {
            throw new LinkApiError(400,
                $"toxic type {toxic.Type} acts on a byte stream and does not apply to a udp link; a udp link takes {string.Join(", ", UdpRelay.SupportedToxics)} (timeout drops datagrams: with a toxicity below 1, that share of them)");
        }
    }

    /// <summary>The toxics a UDP link applies, per stream in the order added (called under the lock).</summary>
    private void PublishUdpToxics()
    {
        _upstreamToxics = [.. _toxics.Where(toxic => toxic.Direction == ToxicStreams.Upstream)];
        _downstreamToxics = [.. _toxics.Where(toxic => toxic.Direction == ToxicStreams.Downstream)];
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client, listener);
        }
    }

    private async Task RelayAsync(Socket client, Socket acceptedBy)
    {
        client.NoDelay = true;
        Task? held = null;
        lock (_gate)
        {
            if (_silence.IsSet)
            {
                // Being cut: not even dialled.
                client.Dispose();
                return;
            }

            if (_listener == acceptedBy && IsSilent())
            {
                held = HoldAsync(client);
                _held.Add(client, held);
            }
        }

        if (held is not null)
        {
            await held.ConfigureAwait(false);
            return;
        }

        Socket server;
        try
        {
            var upstream = await HostPort.ResolveAsync(Upstream, CancellationToken.None).ConfigureAwait(false);
            server = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (UpstreamSource?.Invoke(upstream) is { } source)
                {
                    server.Bind(new IPEndPoint(source, 0));
                }

                await server.ConnectAsync(upstream).ConfigureAwait(false);
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
        catch (Exception exception) when (exception is SocketException or FormatException)
        {
            // Toxiproxy's behaviour: an unreachable upstream closes the client's connection.
            client.Dispose();
            return;
        }

        var connection = new LinkConnection(client, server, _clock, _nextSeed(), _silence);
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_listener != acceptedBy || _silence.IsSet)
            {
                // Disabled (or being cut) while this connection was being set up.
                connection.Close();
                return;
            }

            foreach (var toxic in _toxics)
            {
                connection.PipeFor(toxic.Direction).AddToxic(toxic);
            }

            _connections.Add(connection, finished.Task);
        }

        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(connection);
            }

            finished.TrySetResult();
        }
    }

    /// <summary>
    /// Whether the link swallows everything a client sends, for good: a timeout toxic of 0 on the upstream stream at
    /// full toxicity (how a region is blackholed). Called under the lock.
    /// </summary>
    private bool IsSilent() =>
        _toxics.Exists(toxic => toxic.Type == ToxicTypes.Timeout && toxic["timeout"] == 0
                                && toxic.Direction == ToxicStreams.Upstream && toxic.Toxicity >= 1.0);

    /// <summary>
    /// A connection that arrives while the link is silent is not dialled: behind a real silent partition the server
    /// never sees the SYN. (Toxiproxy dials first, so the server meets a connection that never speaks: PostgreSQL keeps
    /// such a backend for authentication_timeout, 60 s, and its fast shutdown waits for it — an isolated primary then
    /// cannot stop in time for Patroni's next loop, which demotes it a second time.) The client's bytes are swallowed;
    /// when the silence ends the connection is closed, and the client connects again through the healed link.
    /// </summary>
    private async Task HoldAsync(Socket client)
    {
        await Task.Yield(); // the caller registers this task under its lock before it runs
        var swallowed = new byte[4096];
        try
        {
            while (await client.ReceiveAsync(swallowed, SocketFlags.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _held.Remove(client);
            }

            client.Dispose();
        }
    }

    /// <summary>Closes every held connection (the silence is over, or the link stops); returns their tasks. Under the lock.</summary>
    private Task[] ReleaseHeld()
    {
        var tasks = _held.Values.ToArray();
        foreach (var client in _held.Keys.ToArray())
        {
            try
            {
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
            }
        }

        return tasks;
    }

    /// <summary>
    /// SO_REUSEADDR only, as Go sets it: a restarted proxy can rebind its port at once (no
    /// TIME_WAIT wait), yet a second listener on a port in use still fails. .NET's ReuseAddress
    /// would also set SO_REUSEPORT on Linux and let two proxies share a port.
    /// </summary>
    private static void AllowRebindAfterClose(Socket listener)
    {
        if (OperatingSystem.IsLinux())
        {
            const int SolSocket = 1;
            const int SoReuseAddress = 2;
            listener.SetRawSocketOption(SolSocket, SoReuseAddress, BitConverter.GetBytes(1));
        }
    }

    private static string LowerFirst(string message) =>
        message.Length == 0 ? message : char.ToLowerInvariant(message[0]) + message[1..];
}
