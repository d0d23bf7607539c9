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

/// <summary><c>latency</c>: every chunk leaves <c>latency ± jitter</c> ms after it arrived.</summary>
internal sealed class LatencyStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var delayMs = (double)Toxic["latency"];
        var jitterMs = Toxic["jitter"];
        if (jitterMs > 0)
        {
            delayMs += Context.Random.NextInt64(-jitterMs, jitterMs + 1);
        }

        await WaitUntilAsync(LinkClock.TimestampAfter(arrivalTimestamp, TimeSpan.FromMilliseconds(delayMs))).ConfigureAwait(false);
        await next(data, arrivalTimestamp).ConfigureAwait(false);
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
/// <c>timeout</c>: a blackhole. Data is dropped; after <c>timeout</c> ms the connection is
/// closed; 0 holds it open, silent, until the toxic is removed.
/// </summary>
internal sealed class TimeoutStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override void Start() =>
        AfterMilliseconds(Toxic["timeout"], Context.Connection.Close, skipWhenZero: true);

    public override ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next) =>
        ValueTask.CompletedTask;
}

/// <summary><c>reset_peer</c>: after <c>timeout</c> ms (0: at once) both ends get a TCP RST.</summary>
internal sealed class ResetPeerStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override void Start() =>
        AfterMilliseconds(Toxic["timeout"], Context.Connection.Reset, skipWhenZero: false);
}

/// <summary>
/// <c>slicer</c>: chunks are cut into pieces of <c>average_size ± size_variation</c> bytes,
/// <c>delay</c> microseconds apart.
/// </summary>
internal sealed class SlicerStage(ToxicDefinition toxic, StageContext context) : ToxicStage(toxic, context)
{
    public override async ValueTask ProcessAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp, ChunkSink next)
    {
        var averageSize = Math.Max(1, Toxic["average_size"]);
        var variation = Math.Clamp(Toxic["size_variation"], 0, averageSize - 1);
        var gap = TimeSpan.FromMicroseconds(Toxic["delay"]);
        var sendAt = LinkClock.Now;
        while (!data.IsEmpty)
        {
            var size = averageSize + (variation > 0 ? Context.Random.NextInt64(-variation, variation + 1) : 0);
            var slice = data[..(int)Math.Min(data.Length, size)];
            data = data[slice.Length..];
            await WaitUntilAsync(sendAt).ConfigureAwait(false);
            await next(slice, arrivalTimestamp).ConfigureAwait(false);
            sendAt = LinkClock.TimestampAfter(LinkClock.Now, gap);
        }
    }
}

/// <summary><c>limit_data</c>: exactly <c>bytes</c> bytes pass, then the connection is closed.</summary>
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

    public override void Start()
    {
        if (Toxic["bytes"] <= _passed.Bytes)
        {
            Context.Connection.Close();
        }
    }

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
