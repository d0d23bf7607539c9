using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>
/// One direction of one proxied connection: reads chunks from its source socket, stamps
/// their arrival, runs them through the toxic stages of its stream and writes what comes
/// out to the destination. Reading and writing are separate loops so a delayed chunk
/// never stops the next one from being read (latency adds delay, not a throughput cap).
/// </summary>
internal sealed class LinkPipe
{
    private const int ChunkSize = 64 * 1024;

    // A delayed link holds a delay's worth of chunks (bandwidth × delay): 3 s of WAL at a few hundred chunks a second
    // overflowed 16 and the reader's back-pressure stretched the delay to ~4 s. Small reads are copied into small
    // arrays, so the queue costs what it carries rather than 64 KB a chunk (docs/measured-facts.md, "Link server chunk
    // queue").
    private const int QueuedChunks = 2048;
    private const int CopyBelow = 8 * 1024;
    private readonly Socket _source;
    private readonly Socket _destination;
    private readonly StageContext _stageContext;
    // Synchronous continuations: a chunk written into an idle pipe is taken on by the writing loop on the reader's own
    // thread (and sent there when no toxic holds it) instead of waking a thread-pool worker for it. One thread hop less
    // per chunk; under SIP load through the topology each hop was a futex wake (docs/measured-facts.md, "Thread-pool
    // spinning and socket completions"). Neither loop blocks: a wait for the clock or the socket hands the thread back.
    private readonly Channel<Chunk> _chunks = Channel.CreateBounded<Chunk>(
        new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });
    private volatile ToxicStage[] _stages = [];

    // Toxicity is drawn on API threads (under the proxy's lock); the stages draw jitter and slice
    // sizes in this pipe's own flow. System.Random is not thread-safe, so each has its own.
    private readonly Random _toxicityDraws;

    // The connection's end: once it has come, nothing more is sent (see SendAsync).
    private CancellationToken _ended;

    // The proxy's switch: once set (a cut under way), nothing more is sent either (see SendAsync).
    private readonly LinkSilence _silence;

    public LinkPipe(Socket source, Socket destination, StageContext stageContext, Random toxicityDraws, LinkSilence silence)
    {
        _source = source;
        _destination = destination;
        _stageContext = stageContext;
        _toxicityDraws = toxicityDraws;
        _silence = silence;
    }

    /// <summary>Adds a stage for a new toxic at the end of the chain (Toxiproxy's order).</summary>
    public void AddToxic(ToxicDefinition toxic) => _stages = [.. _stages, CreateStage(toxic, carriedState: null)];

    /// <summary>Replaces a toxic's stage in place; the toxicity is drawn again, counters carry over.</summary>
    public void UpdateToxic(ToxicDefinition toxic)
    {
        var stages = _stages;
        var index = Array.FindIndex(stages, stage => stage.Toxic.Name == toxic.Name);
        if (index < 0)
        {
            return;
        }

        var old = stages[index];
        var replaced = stages.ToArray();
        replaced[index] = CreateStage(toxic, old.CarriedState);
        _stages = replaced;
        old.Dispose();
    }

    public void RemoveToxic(string name)
    {
        var removed = _stages.FirstOrDefault(stage => stage.Toxic.Name == name);
        if (removed is null)
        {
            return;
        }

        _stages = _stages.Where(stage => stage != removed).ToArray();
        removed.OnRemoved();
        removed.Dispose();
    }

    public void StopStages()
    {
        foreach (var stage in _stages)
        {
            stage.Dispose();
        }
    }

    /// <summary>Runs until the source closes (then half-closes the destination) or the connection ends.</summary>
    public Task RunAsync(CancellationToken cancel)
    {
        _ended = cancel;
        return Task.WhenAll(ReadAsync(cancel), WriteAsync(cancel));
    }

    private ToxicStage CreateStage(ToxicDefinition toxic, object? carriedState)
    {
        var context = new StageContext(_stageContext.Connection, _stageContext.Clock, _stageContext.Random, carriedState);

        // Toxicity is drawn per connection, each time the toxic is (re)applied to it.
        var afflicted = toxic.Toxicity >= 1.0 || _toxicityDraws.NextDouble() < toxic.Toxicity;
        ToxicStage stage = afflicted ? ToxicStageFactory.Create(toxic, context) : new NoopStage(toxic, context);
        stage.Start();
        return stage;
    }

    private async Task ReadAsync(CancellationToken cancel)
    {
        Exception? failure = null;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int received;
                try
                {
                    received = await _source.ReceiveAsync(buffer, SocketFlags.None, cancel).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }

                if (received == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                var arrived = LinkClock.Now;
                if (received < CopyBelow)
                {
                    var small = ArrayPool<byte>.Shared.Rent(received);
                    buffer.AsSpan(0, received).CopyTo(small);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = small;
                }

                await _chunks.Writer.WriteAsync(new Chunk(buffer, received, arrived), cancel).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
        {
            failure = exception;
        }
        finally
        {
            _chunks.Writer.TryComplete(failure);
        }

        if (failure is not null and not OperationCanceledException)
        {
            // The source was reset or vanished: a transparent link passes that on.
            _stageContext.Connection.Reset();
        }
    }

    private async Task WriteAsync(CancellationToken cancel)
    {
        try
        {
            await foreach (var chunk in _chunks.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
            {
                try
                {
                    var stages = _stages;
                    if (stages.Length == 0)
                    {
                        await SendAsync(chunk.Data, chunk.ArrivalTimestamp).ConfigureAwait(false);
                    }
                    else
                    {
                        await ForwardAsync(stages, 0, chunk.Data, chunk.ArrivalTimestamp).ConfigureAwait(false);
                    }
                }
                finally
                {
                    chunk.Release();
                }
            }

            foreach (var stage in _stages)
            {
                await stage.OnEndOfStreamAsync().ConfigureAwait(false);
            }

            _destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
        {
            // The connection is ending; the reader or the owner has already said how.
            _stageContext.Connection.Close();
        }
    }

    private ValueTask ForwardAsync(ToxicStage[] stages, int index, ReadOnlyMemory<byte> data, long arrivalTimestamp) =>
        index == stages.Length
            ? SendAsync(data, arrivalTimestamp)
            : stages[index].ProcessAsync(data, arrivalTimestamp, (piece, arrival) => ForwardAsync(stages, index + 1, piece, arrival));

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data, long arrivalTimestamp)
    {
        _ = arrivalTimestamp;
        while (!data.IsEmpty)
        {
            // A closed link delivers nothing it still held: stopping the stages releases every chunk a latency toxic was
            // delaying, and they could go out before the sockets were shut — a lost region's delayed WAL reaching a
            // replica after the loss (docs/measured-facts.md, "A link closed with delayed data queued").
            _ended.ThrowIfCancellationRequested();
            if (_silence.IsSet)
            {
                throw new OperationCanceledException("the link is being cut", _ended);
            }

            var sent = await _destination.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private readonly record struct Chunk(byte[] Buffer, int Length, long ArrivalTimestamp)
    {
        public ReadOnlyMemory<byte> Data => Buffer.AsMemory(0, Length);

        public void Release() => ArrayPool<byte>.Shared.Return(Buffer);
    }
}
