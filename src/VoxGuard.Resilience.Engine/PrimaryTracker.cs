using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Engine;

/// <summary>
/// Which region holds a store's primary, as far as this engine knows, and the one search for a new one after a write
/// fails: every caller that fails meanwhile waits for the same search instead of starting its own (hundreds of
/// calls per second fail together when a primary dies). Before its first write an engine looks too, as a real client
/// asks Sentinel (or finds the primary) when it starts: the environment's primary is only where the topology began.
/// An engine started after a failover that wrote to the old master first could have it acknowledge writes until
/// Sentinel demoted it, which drops them.
/// </summary>
internal sealed class PrimaryTracker
{
    private readonly Func<CancellationToken, Task<RegionDefinition?>> _search;
    private readonly Lock _gate = new();
    private Task<RegionDefinition?>? _searching;
    private volatile bool _looked;

    public PrimaryTracker(RegionDefinition initial, Func<CancellationToken, Task<RegionDefinition?>> search)
    {
        Current = initial;
        _search = search;
    }

    /// <summary>Where writes go now.</summary>
    public RegionDefinition Current { get; private set; }

    /// <summary>How many searches ran (the first look, then each failover the engine followed, or a failed look).</summary>
    public int Searches { get; private set; }

    /// <summary>
    /// Where the next write goes: <see cref="Current"/> once any search has finished; before that, the first caller
    /// starts the first look and every caller meanwhile waits for it. A look that finds nothing keeps the initial region.
    /// </summary>
    public ValueTask<RegionDefinition> CurrentAsync(CancellationToken cancellationToken) =>
        _looked ? new ValueTask<RegionDefinition>(Current) : FirstLookAsync(cancellationToken);

    /// <summary>
    /// After a write to <paramref name="failedAt"/> failed: joins the running search or starts one (unless another
    /// caller already moved on from that region); returns where writes go now.
    /// </summary>
    public async Task<RegionDefinition> ReconsiderAsync(RegionDefinition failedAt, CancellationToken cancellationToken)
    {
        Task<RegionDefinition?> search;
        lock (_gate)
        {
            if (Current.Name != failedAt.Name && _searching is null)
            {
                return Current; // someone already found the new primary
            }

            search = RunningSearch();
        }

        var found = await search.WaitAsync(cancellationToken).ConfigureAwait(false);
        return found ?? Current;
    }

    private async ValueTask<RegionDefinition> FirstLookAsync(CancellationToken cancellationToken)
    {
        Task<RegionDefinition?> search;
        lock (_gate)
        {
            if (_looked)
            {
                return Current;
            }

            search = RunningSearch();
        }

        await search.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Current;
    }

    /// <summary>The search under way, or a new one; called holding <see cref="_gate"/>.</summary>
    private Task<RegionDefinition?> RunningSearch()
    {
        // On the thread pool: a search that completed synchronously inside the lock would clear _searching before
        // being stored in it, leaving a finished search that every later caller would join forever.
        _searching ??= Task.Run(RunSearchAsync, CancellationToken.None);
        return _searching;
    }

    private async Task<RegionDefinition?> RunSearchAsync()
    {
        try
        {
            var found = await _search(CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                Searches++;
                _looked = true;
                if (found is not null)
                {
                    Current = found;
                }
            }

            return found;
        }
        finally
        {
            lock (_gate)
            {
                _searching = null;
            }
        }
    }
}
