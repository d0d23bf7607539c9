using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Tests.Support;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Tests.Transports;

/// <summary>
/// A TCP connection frames messages by Content-Length whatever the segments: a connection reads into a buffer only
/// while bytes are waiting (it holds none while idle), so a message cut across reads, several in one read, keepalive
/// line breaks and a message larger than one read must all come out whole and in order. The peer is a plain socket.
/// </summary>
[TestFixture]
public sealed class SipTcpFramingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Messages_split_across_segments_packed_together_and_larger_than_a_read_arrive_whole_and_in_order()
    {
        var sink = new RecordingSink();
        var (peer, connection) = await ConnectAsync(sink, SipParserLimits.Default);
        using var _ = peer;
        await using var __ = connection;

        var first = Encoding.ASCII.GetBytes(Request(1, body: string.Empty));
        // Cut inside the start line, inside a header and just before the blank line, each piece after a pause.
        foreach (var piece in new[] { first[..5], first[5..60], first[60..^2], first[^2..] })
        {
            await peer.SendAsync(piece);
            await Task.Delay(50);
        }

        // Two messages and keepalive line breaks in one segment.
        await peer.SendAsync(Encoding.ASCII.GetBytes("\r\n\r\n" + Request(2, body: "v=0\r\n") + Request(3, body: string.Empty)));
        // A body far larger than one read (the buffer must grow and keep what it has).
        var large = new string('x', 20_000);
        await peer.SendAsync(Encoding.ASCII.GetBytes(Request(4, body: large)));

        var received = await sink.TakeAsync(4, Patience);
        Assert.Multiple(() =>
        {
            Assert.That(received.Select(message => message.CSeq.Number), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
            Assert.That(received[1].BodyText, Is.EqualTo("v=0\r\n"));
            Assert.That(received[3].Body.Length, Is.EqualTo(20_000));
            Assert.That(received[3].BodyText, Is.EqualTo(large));
            Assert.That(sink.ParseErrors, Is.Empty);
            Assert.That(connection.IsOpen, Is.True);
        });

        // The peer closing ends the connection, and the sink hears of it.
        peer.Shutdown(SocketShutdown.Both);
        await connection.Completion.WaitAsync(Patience);
        Assert.That(sink.Closed, Is.True);
    }

    [Test]
    public async Task A_message_announcing_more_than_the_limit_is_a_parse_error_and_closes_the_connection()
    {
        var sink = new RecordingSink();
        var (peer, connection) = await ConnectAsync(sink, new SipParserLimits { MaxMessageSize = 4_000 });
        using var _ = peer;
        await using var __ = connection;

        await peer.SendAsync(Encoding.ASCII.GetBytes(Request(1, body: new string('x', 6_000))));

        await connection.Completion.WaitAsync(Patience);
        Assert.Multiple(() =>
        {
            Assert.That(sink.ParseErrors.Select(error => error.StatusCode), Is.EqualTo(new[] { SipStatus.MessageTooLarge }));
            Assert.That(sink.Closed, Is.True);
        });
    }

    [Test]
    public async Task Closing_our_side_sends_a_fin_and_ends_the_reader_without_an_aborted_receive()
    {
        // A load closes a connection per call: an aborted receive per close was a thrown exception per call.
        const int Connections = 20;
        var aborted = 0;
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs args)
        {
            if (args.Exception is SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                Interlocked.Increment(ref aborted);
            }
        }

        var pairs = new List<(Socket Peer, SipTcpConnection Connection, RecordingSink Sink)>();
        for (var i = 0; i < Connections; i++)
        {
            var sink = new RecordingSink();
            var (peer, connection) = await ConnectAsync(sink, SipParserLimits.Default);
            pairs.Add((peer, connection, sink));
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            foreach (var (_, connection, _) in pairs)
            {
                await connection.DisposeAsync().AsTask().WaitAsync(Patience);
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        var peerReads = new List<int>();
        foreach (var (peer, _, _) in pairs)
        {
            using (peer)
            {
                peerReads.Add(await peer.ReceiveAsync(new byte[16]).WaitAsync(Patience));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(pairs.Select(pair => pair.Connection.IsOpen), Is.All.False);
            Assert.That(pairs.Select(pair => pair.Sink.Closed), Is.All.True, "the reader ended and told its sink");
            Assert.That(peerReads, Is.All.Zero, "each peer read the end of the stream (a FIN, not a reset)");
            Assert.That(aborted, Is.LessThan(Connections / 2), "closes that aborted the reader's pending receive");
        });
    }

    /// <summary>A connection of ours and the plain socket at its other end.</summary>
    private static async Task<(Socket Peer, SipTcpConnection Connection)> ConnectAsync(RecordingSink sink, SipParserLimits limits)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(TestAddresses.Any(TestAddresses.Peer));
        listener.Listen();
        var connecting = SipTcpConnection.ConnectAsync((IPEndPoint)listener.LocalEndPoint!, TestAddresses.Uac, sink, limits);
        var peer = await listener.AcceptAsync();
        return (peer, await connecting);
    }

    private static string Request(long cseq, string body) =>
        $"MESSAGE sip:framing@127.0.143.1 SIP/2.0\r\n" +
        $"Via: SIP/2.0/TCP 127.0.142.1:5060;branch=z9hG4bK-framing-{cseq}\r\n" +
        "From: <sip:uac@127.0.142.1>;tag=framing\r\nTo: <sip:framing@127.0.143.1>\r\nCall-ID: framing@127.0.142.1\r\n" +
        $"CSeq: {cseq} MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: {Encoding.ASCII.GetByteCount(body)}\r\n\r\n{body}";

    private sealed class RecordingSink : ISipMessageSink
    {
        private readonly BlockingCollection<SipMessage> _messages = [];

        public ConcurrentQueue<SipParseException> ParseErrors { get; } = new();

        public bool Closed { get; private set; }

        public void OnMessage(SipMessage message, SipChannel channel) => _messages.Add(message);

        public void OnParseError(SipParseException error, SipChannel channel) => ParseErrors.Enqueue(error);

        public void OnClosed(SipChannel channel) => Closed = true;

        public async Task<IReadOnlyList<SipMessage>> TakeAsync(int count, TimeSpan patience)
        {
            var taken = new List<SipMessage>();
            var deadline = DateTime.UtcNow + patience;
            while (taken.Count < count && DateTime.UtcNow < deadline)
            {
                if (_messages.TryTake(out var message, TimeSpan.FromMilliseconds(50)))
                {
                    taken.Add(message);
                }
                else
                {
                    await Task.Yield();
                }
            }

            return taken;
        }
    }
}
