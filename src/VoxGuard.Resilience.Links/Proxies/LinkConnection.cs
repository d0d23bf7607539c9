using System.Net.Sockets;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>One accepted client connection and its upstream connection, joined by two pipes.</summary>
internal sealed class LinkConnection : ILinkConnectionControl
{
    private readonly Socket _client;
    private readonly Socket _server;
    private readonly CancellationTokenSource _ended = new();
    private int _closed;

    public LinkConnection(Socket client, Socket server, LinkClock clock, int randomSeed, LinkSilence silence)
    {
        _client = client;
        _server = server;
        Upstream = new LinkPipe(
            client, server, new StageContext(this, clock, new Random(randomSeed), null), new Random(randomSeed + 2), silence);
        Downstream = new LinkPipe(
            server, client, new StageContext(this, clock, new Random(randomSeed + 1), null), new Random(randomSeed + 3), silence);
    }

    /// <summary>Client → server.</summary>
    public LinkPipe Upstream { get; }

    /// <summary>Server → client.</summary>
    public LinkPipe Downstream { get; }

    public LinkPipe PipeFor(string stream) => stream == ToxicStreams.Upstream ? Upstream : Downstream;

    /// <summary>Relays until both directions have closed, or the connection is closed or reset.</summary>
    public async Task RunAsync()
    {
        try
        {
            await Task.WhenAll(Upstream.RunAsync(_ended.Token), Downstream.RunAsync(_ended.Token)).ConfigureAwait(false);
        }
        finally
        {
            Close();
        }
    }

    public void Close() => End(abortive: false);

    public void Reset() => End(abortive: true);

    private void End(bool abortive)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        // The end first, then the stages: stopping a stage releases the chunks it delays, which must find the
        // connection already ended rather than be sent.
        _ended.Cancel();
        Upstream.StopStages();
        Downstream.StopStages();
        foreach (var socket in new[] { _client, _server })
        {
            try
            {
                if (abortive)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                else
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                // Already gone; closing below is all that is left to do.
            }

            socket.Dispose();
        }
    }
}
