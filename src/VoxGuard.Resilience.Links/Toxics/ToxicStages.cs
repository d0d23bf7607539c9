using VoxGuard.Resilience.Links.Proxies;

namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>Creates the stage that implements a toxic on one direction of one connection.</summary>
internal static class ToxicStageFactory
{
    public static ToxicStage Create(ToxicDefinition toxic, StageContext context) => toxic.Type switch
    {
        ToxicTypes.Latency => new LatencyStage(toxic, context),
        ToxicTypes.Bandwidth => new BandwidthStage(toxic, context),
        ToxicTypes.SlowClose => new SlowCloseStage(toxic, context),
        ToxicTypes.Timeout => new TimeoutStage(toxic, context),
        ToxicTypes.ResetPeer => new ResetPeerStage(toxic, context),
        ToxicTypes.Slicer => new SlicerStage(toxic, context),
        ToxicTypes.LimitData => new LimitDataStage(toxic, context),
        ToxicTypes.Noop => new NoopStage(toxic, context),
        _ => throw new ArgumentException($"Unknown toxic type '{toxic.Type}'.", nameof(toxic)),
    };
}

/// <summary>Used when the toxicity draw says this connection is spared: data passes untouched.</summary>
internal sealed class NoopStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context);

/// <summary>
/// <c>latency</c>: every chunk leaves <c>latency ± jitter</c> ms after it arrived (jitter uniform
/// in [-jitter, +jitter)). The chunk's timestamp moves on by the delay, so stacked latency
/// toxics add up, as in Toxiproxy.
/// </summary>
internal sealed class LatencyStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var delayMs = (double)Toxic["latency"];
        var jitterMs = Toxic["jitter"];
        if (jitterMs > 0)
        {
            delayMs += Context.Random.NextInt64(-jitterMs, jitterMs);
        }

        var due = LinkClock.TimestampAfter(arrivalTimestamp, TimeSpan.FromMilliseconds(delayMs));
        await WaitUntilAsync(due).ConfigureAwait(false);
        await next(data, Math.Max(due, arrivalTimestamp)).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>bandwidth</c>: at most <c>rate</c> KB/s (1 KB = 1000 bytes, as Toxiproxy counts). Large
/// chunks go out in 100 ms slices so a slow link trickles instead of stalling.
/// </summary>
internal sealed class BandwidthStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    private static readonly TimeSpan SliceDuration = TimeSpan.FromMilliseconds(100);
    private long _linkFreeAt;

    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var bytesPerMillisecond = Toxic["rate"];
        if (bytesPerMillisecond <= 0)
        {
            await next(data, arrivalTimestamp).ConfigureAwait(false);
            return;
        }

        var sliceBytes = bytesPerMillisecond * (long)SliceDuration.TotalMilliseconds;
        while (!data.IsEmpty)
        {
            var slice = data[..(int)Math.Min(data.Length, sliceBytes)];
            data = data[slice.Length..];
            _linkFreeAt = LinkClock.TimestampAfter(
                Math.Max(LinkClock.Now, _linkFreeAt),
                TimeSpan.FromMilliseconds(slice.Length / (double)bytesPerMillisecond));
            await WaitUntilAsync(_linkFreeAt).ConfigureAwait(false);
            await next(slice, arrivalTimestamp).ConfigureAwait(false);
        }
    }
}

/// <summary><c>slow_close</c>: the close of the source reaches the destination <c>delay</c> ms late.</summary>
internal sealed class SlowCloseStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override async ValueTask OnEndOfStreamAsync() =>
        await Context.Clock.DelayAsync(TimeSpan.FromMilliseconds(Toxic["delay"]), Removed).ConfigureAwait(false);
}

/// <summary>
/// <c>timeout</c>: a blackhole. Data is dropped; the connection is closed once <c>timeout</c> ms
/// pass with no data arriving (each chunk restarts the timer, as in Toxiproxy); 0 holds it
/// open, silent. Deleting the toxic closes the connections it held, as Toxiproxy does.
/// </summary>
internal sealed class TimeoutStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    private long _closeAt;

    public override void Start()
    {
        if (Toxic["timeout"] > 0)
        {
            RestartTimer();
            _ = CloseWhenSilentAsync();
        }
    }

    public override ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        RestartTimer();
        return ValueTask.CompletedTask;
    }

    public override void OnRemoved() => Context.Connection.Close();

    private void RestartTimer() =>
        Volatile.Write(ref _closeAt, LinkClock.TimestampAfter(LinkClock.Now, TimeSpan.FromMilliseconds(Toxic["timeout"])));

    private async Task CloseWhenSilentAsync()
    {
        while (!Removed.IsCancellationRequested)
        {
            var closeAt = Volatile.Read(ref _closeAt);
            await WaitUntilAsync(closeAt).ConfigureAwait(false);
            if (!Removed.IsCancellationRequested && Volatile.Read(ref _closeAt) == closeAt)
            {
                Context.Connection.Close();
                return;
            }
        }
    }
}

/// <summary>
/// <c>reset_peer</c>: the first data (or close) on its stream is discarded and, <c>timeout</c> ms
/// later, both ends get a TCP RST. Unlike Toxiproxy, whose connections opened before the toxic
/// close with a FIN, every connection here is reset: a "reset" drill should reset.
/// </summary>
internal sealed class ResetPeerStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    private int _triggered;

    public override ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        Trigger();
        return ValueTask.CompletedTask;
    }

    public override ValueTask OnEndOfStreamAsync()
    {
        Trigger();
        return ValueTask.CompletedTask;
    }

    private void Trigger()
    {
        if (Interlocked.Exchange(ref _triggered, 1) == 0)
        {
            AfterMilliseconds(Toxic["timeout"], Context.Connection.Reset);
        }
    }
}

/// <summary>
/// <c>slicer</c>: chunks are cut into pieces of about <c>average_size</c> bytes (Toxiproxy's
/// recursive halving, ± <c>size_variation</c> at each cut), sent <c>delay</c> microseconds apart.
/// </summary>
internal sealed class SlicerStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var cuts = new List<int> { 0 };
        Cut(0, data.Length, cuts);
        var gap = TimeSpan.FromMicroseconds(Toxic["delay"]);
        for (var i = 1; i < cuts.Count; i++)
        {
            if (i > 1 && !Removed.IsCancellationRequested)
            {
                await Context.Clock.DelayAsync(gap, Removed).ConfigureAwait(false);
            }

            await next(data[cuts[i - 1]..cuts[i]], arrivalTimestamp).ConfigureAwait(false);
        }
    }

    private void Cut(int start, int end, List<int> cuts)
    {
        var averageSize = Toxic["average_size"];
        var variation = Toxic["size_variation"];
        if (end - start - averageSize <= variation || end - start < 2)
        {
            cuts.Add(end);
            return;
        }

        var middle = start + ((end - start) / 2);
        if (variation > 0)
        {
            middle += (int)Context.Random.NextInt64(-variation, variation);
        }

        middle = Math.Clamp(middle, start + 1, end - 1);
        Cut(start, middle, cuts);
        Cut(middle, end, cuts);
    }
}

/// <summary>
/// <c>limit_data</c>: exactly <c>bytes</c> bytes pass, then the connection is closed (with 0, on
/// the first chunk). The count survives updates of the toxic.
/// </summary>
internal sealed class LimitDataStage : ToxicStage
{
    private readonly Counter _passed;

    public LimitDataStage(ToxicDefinition toxic, StageContext context)
        : base(toxic, context)
    {
        // An update of the toxic keeps counting from where the old one was.
        _passed = context.CarriedState as Counter ?? new Counter();
    }

    public override object? CarriedState => _passed;

    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var allowed = Math.Max(0, Toxic["bytes"] - _passed.Bytes);
        var passing = data[..(int)Math.Min(data.Length, allowed)];
        if (!passing.IsEmpty)
        {
            _passed.Bytes += passing.Length;
            await next(passing, arrivalTimestamp).ConfigureAwait(false);
        }

        if (_passed.Bytes >= Toxic["bytes"])
        {
            Context.Connection.Close();
        }
    }

    private sealed class Counter
    {
        public long Bytes { get; set; }
    }
}
