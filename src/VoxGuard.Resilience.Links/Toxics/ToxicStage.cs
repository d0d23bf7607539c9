using VoxGuard.Resilience.Links.Proxies;

namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>Passes a piece of data on to the next stage of a pipe (or to the destination socket).</summary>
internal delegate ValueTask ChunkSink(ReadOnlyMemory<byte> data, long arrivalTimestamp);

/// <summary>
/// One toxic acting on one direction of one connection. A stage lives from the moment its
/// toxic is added (or its connection opened) until the toxic is removed or updated, so a
/// toxic added to an open connection takes effect at once, timers included.
/// </summary>
#pragma warning disable CA1001 // see Dispose
internal abstract class ToxicStage : IDisposable
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _removed = new();

    protected ToxicStage(ToxicDefinition toxic, StageContext context)
    {
        Toxic = toxic;
        Context = context;
    }

    public ToxicDefinition Toxic { get; }

    protected StageContext Context { get; }

    /// <summary>Cancelled when the toxic is removed or replaced: waits end, data flows on.</summary>
    protected CancellationToken Removed => _removed.Token;

    /// <summary>Called once when the stage becomes part of the pipe; starts timers.</summary>
    public virtual void Start()
    {
    }

    /// <summary>Transforms, delays, drops or splits one chunk; calls <paramref name="next"/> for what goes on.</summary>
    public virtual ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next) =>
        next(data, arrivalTimestamp);

    /// <summary>Called when the source closed, before the close is passed on.</summary>
    public virtual ValueTask OnEndOfStreamAsync() => ValueTask.CompletedTask;

    /// <summary>Called when the toxic is deleted (not when it is updated), before the stage is disposed.</summary>
    public virtual void OnRemoved()
    {
    }

    /// <summary>State worth keeping when the toxic is updated in place (e.g. bytes already counted).</summary>
    public virtual object? CarriedState => null;

    // The source is cancelled, never disposed: timers and waits may still read its token.
    public void Dispose() => _removed.Cancel();

    /// <summary>Runs <paramref name="action"/> after a delay unless the toxic is removed first.</summary>
    protected void AfterMilliseconds(long milliseconds, Action action)
    {
        var removed = Removed;
        _ = Context.Clock.DelayAsync(TimeSpan.FromMilliseconds(Math.Max(0, milliseconds)), removed)
            .ContinueWith(_ => { if (!removed.IsCancellationRequested) action(); }, TaskScheduler.Default);
    }

    /// <summary>Waits until a monotonic deadline; returns early (without throwing) when the toxic is removed.</summary>
    protected Task WaitUntilAsync(long deadlineTimestamp) =>
        Context.Clock.WaitUntilAsync(deadlineTimestamp, Removed);
}

/// <summary>What a stage may know and do about its connection.</summary>
internal sealed class StageContext(ILinkConnectionControl connection, LinkClock clock, Random random, object? carriedState)
{
    public ILinkConnectionControl Connection { get; } = connection;
    public LinkClock Clock { get; } = clock;
    public Random Random { get; } = random;
    public object? CarriedState { get; } = carriedState;
}
