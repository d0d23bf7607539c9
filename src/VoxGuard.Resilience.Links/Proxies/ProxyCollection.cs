namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>Every proxy of one link server, by name. All changes go through one lock, one at a time.</summary>
/// <param name="clock">The link clock every proxy's toxics run on.</param>
/// <param name="seed">Seeds the proxies' toxicity draws; null draws freshly.</param>
/// <param name="upstreamSource">Where a TCP link's upstream connections leave from, by upstream (<see cref="LinkServerOptions.UpstreamSource"/>).</param>
internal sealed class ProxyCollection(LinkClock clock, int? seed, Func<System.Net.IPEndPoint, System.Net.IPAddress?>? upstreamSource = null) : IAsyncDisposable
{
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly Dictionary<string, ProxyRuntime> _proxies = new(StringComparer.Ordinal);
    private readonly Random _seeds = seed is { } fixedSeed ? new Random(fixedSeed) : new Random();

    public LinkClock Clock => clock;

    /// <summary>Runs one change of the collection, alone.</summary>
    public async Task<T> ChangeAsync<T>(Func<Dictionary<string, ProxyRuntime>, Task<T>> change)
    {
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            return await change(_proxies).ConfigureAwait(false);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// Disables or enables every proxy of <paramref name="names"/> (each once, in the order named) in one change.
    /// Disabled, they all stop carrying bytes in the same instant (<see cref="ProxyRuntime.Silence"/>, before this
    /// returns to its caller), as a region's network fails at once — one request per link spread a region's 36 links
    /// over 0.1–0.9 s — and are then closed (<see cref="ProxyRuntime.StopAsync"/>). All or nothing: an unknown name (404)
    /// changes nothing, and when one proxy cannot listen again (500) those this call started are stopped.
    /// </summary>
    public Task<IReadOnlyList<ProxyRuntime>> SetEnabledAsync(IReadOnlyList<string> names, bool enabled)
    {
        if (names.Count == 0)
        {
            throw new LinkApiError(400, $"name the proxies to {(enabled ? "enable" : "disable")}: a JSON array of proxy names, e.g. [\"lagos-abuja-pg\"]");
        }

        return ChangeAsync<IReadOnlyList<ProxyRuntime>>(async proxies =>
        {
            var named = names.Distinct(StringComparer.Ordinal)
                .Select(name => proxies.GetValueOrDefault(name) ?? throw new LinkApiError(404, $"proxy not found: {name}")).ToList();
            if (!enabled)
            {
                // Every link silenced first (one write each, on the caller's thread), then closed on the thread pool: on a
                // loaded host, closing a region's 36 links one after another took 0.7–0.8 s, and the links closed last kept
                // delivering meanwhile (the survivors received a lost region's WAL after its loss).
                foreach (var proxy in named)
                {
                    proxy.Silence();
                }

                await Task.Yield();
                await Task.WhenAll(named.Select(proxy => proxy.StopAsync()).ToList()).ConfigureAwait(false);
                return named;
            }

            var started = new List<ProxyRuntime>();
            try
            {
                foreach (var proxy in named.Where(proxy => !proxy.Enabled))
                {
                    await proxy.StartAsync().ConfigureAwait(false);
                    started.Add(proxy);
                }
            }
            catch (LinkApiError)
            {
                await Task.WhenAll(started.Select(proxy => proxy.StopAsync())).ConfigureAwait(false);
                throw;
            }

            return named;
        });
    }

    public Task<T> ReadAsync<T>(Func<Dictionary<string, ProxyRuntime>, T> read) =>
        ChangeAsync(proxies => Task.FromResult(read(proxies)));

    public ProxyRuntime Create(string name, string listen, string upstream, string protocol = LinkProtocols.Tcp) =>
        new(name, listen, upstream, clock, NextSeed, protocol) { UpstreamSource = upstreamSource };

    public async ValueTask DisposeAsync()
    {
        await ChangeAsync(async proxies =>
        {
            await Task.WhenAll(proxies.Values.Select(proxy => proxy.StopAsync())).ConfigureAwait(false);
            proxies.Clear();
            return true;
        }).ConfigureAwait(false);
        _changes.Dispose();
    }

    private int NextSeed()
    {
        lock (_seeds)
        {
            return _seeds.Next();
        }
    }
}
