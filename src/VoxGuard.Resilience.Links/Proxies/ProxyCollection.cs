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
