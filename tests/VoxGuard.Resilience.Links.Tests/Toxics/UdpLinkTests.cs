using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Toxics;

/// <summary>
/// UDP links (<c>"protocol": "udp"</c>): datagrams relayed per client, and the toxics that apply to datagrams
/// measured on real loopback sockets — latency, drop (timeout, all or a share by toxicity) — and refused ones.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UdpLinkTests
{
    private static readonly TimeSpan ReplyWait = TimeSpan.FromMilliseconds(500);
    private LinkServerFixture _links = null!;
    private UdpEcho _echo = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _links = await LinkServerFixture.StartAsync();
        _echo = new UdpEcho();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _links.DisposeAsync();
        _echo.Dispose();
    }

    [Test]
    public async Task Each_clients_datagrams_reach_the_upstream_and_its_replies_come_back_to_it_alone()
    {
        var proxy = await _links.Client.CreateProxyAsync(new LinkProxySpec("lagos-abuja-sip", "127.0.0.1:0", _echo.Address, Protocol: "udp"));
        using var first = new UdpClientSide(IPEndPoint.Parse(proxy.Listen));
        using var second = new UdpClientSide(IPEndPoint.Parse(proxy.Listen));

        var firstReply = first.Exchange("OPTIONS from first", ReplyWait);
        var secondReply = second.Exchange("OPTIONS from second", ReplyWait);

        Assert.Multiple(async () =>
        {
            Assert.That(proxy.Protocol, Is.EqualTo("udp"));
            Assert.That(firstReply, Is.EqualTo("echo: OPTIONS from first"));
            Assert.That(secondReply, Is.EqualTo("echo: OPTIONS from second"));
            Assert.That((await _links.Client.GetProxyAsync("lagos-abuja-sip")).Protocol, Is.EqualTo("udp"));
        });
    }

    [Test]
    public async Task Latency_delays_every_datagram_by_at_least_the_set_time_and_centres_on_it()
    {
        var proxy = await _links.Client.CreateProxyAsync(new LinkProxySpec("lagos-abuja-sip", "127.0.0.1:0", _echo.Address, Protocol: "udp"));
        using var client = new UdpClientSide(IPEndPoint.Parse(proxy.Listen));
        var baseline = Enumerable.Range(0, 50).Select(_ => client.RoundTrip(ReplyWait)!.Value).ToList();

        await _links.Client.AddToxicAsync("lagos-abuja-sip", ToxicSpec.Latency(TimeSpan.FromMilliseconds(30)));
        var delayed = Enumerable.Range(0, 100).Select(_ => client.RoundTrip(ReplyWait)!.Value).ToList();

        var added = delayed.Select(rtt => rtt - baseline.Min()).Order().ToList();
        TestContext.Out.WriteLine($"added: min {added[0]:F2} ms, median {added[added.Count / 2]:F2} ms, max {added[^1]:F2} ms");
        Assert.That(added[0], Is.GreaterThanOrEqualTo(30 - 0.1), "no datagram arrives before the link's latency");
        // Host noise only adds; the median of 100 stays near the set latency.
        Assert.That(added[added.Count / 2], Is.LessThan(30 + 10));
    }

    [Test]
    public async Task A_timeout_toxic_drops_every_datagram_and_removing_it_lets_them_through_again()
    {
        var proxy = await _links.Client.CreateProxyAsync(new LinkProxySpec("lagos-abuja-sip", "127.0.0.1:0", _echo.Address, Protocol: "udp"));
        using var client = new UdpClientSide(IPEndPoint.Parse(proxy.Listen));
        Assert.That(client.Exchange("before", ReplyWait), Is.EqualTo("echo: before"));

        await _links.Client.AddToxicAsync("lagos-abuja-sip", ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "blackhole", Stream = "upstream" });
        var during = Enumerable.Range(0, 20).Select(n => client.Exchange($"during {n}", TimeSpan.FromMilliseconds(50))).ToList();
        await _links.Client.RemoveToxicAsync("lagos-abuja-sip", "blackhole");

        Assert.Multiple(() =>
        {
            Assert.That(during, Is.All.Null, "a blackholed link delivers nothing");
            Assert.That(_echo.Received, Has.None.StartsWith("during"), "nothing reached the upstream");
            Assert.That(client.Exchange("after", ReplyWait), Is.EqualTo("echo: after"));
        });
    }

    [Test]
    public async Task A_timeout_toxic_below_full_toxicity_drops_that_share_of_the_datagrams()
    {
        var proxy = await _links.Client.CreateProxyAsync(new LinkProxySpec("lagos-abuja-sip", "127.0.0.1:0", _echo.Address, Protocol: "udp"));
        using var client = new UdpClientSide(IPEndPoint.Parse(proxy.Listen));
        await _links.Client.AddToxicAsync("lagos-abuja-sip", ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "loss", Stream = "upstream", Toxicity = 0.3 });

        const int Sent = 1000;
        for (var n = 0; n < Sent; n++)
        {
            client.Send($"datagram {n}");
            if (n % 20 == 19)
            {
                // In rounds, the replies read between them, so that no socket buffer overflows: every loss is the toxic's.
                client.DrainReplies(TimeSpan.FromMilliseconds(20));
            }
        }

        client.DrainReplies(TimeSpan.FromMilliseconds(100));
        var arrived = _echo.Received.Count(text => text.StartsWith("datagram ", StringComparison.Ordinal));
        var lost = 1.0 - (double)arrived / Sent;
        TestContext.Out.WriteLine($"{arrived} of {Sent} reached the upstream: {lost:P1} lost");
        // Binomial(1000, 0.3): a standard deviation of 1.45 %; 20–40 % is ±7 of them.
        Assert.That(lost, Is.InRange(0.20, 0.40));
    }

    [Test]
    public async Task Toxics_that_act_on_a_byte_stream_are_refused_on_a_udp_link_with_the_ones_it_takes()
    {
        await _links.Client.CreateProxyAsync(new LinkProxySpec("lagos-abuja-sip", "127.0.0.1:0", _echo.Address, Protocol: "udp"));

        var refused = Assert.ThrowsAsync<LinkApiException>(() => _links.Client.AddToxicAsync("lagos-abuja-sip", ToxicSpec.Slicer(100, 10, TimeSpan.Zero)))!;
        var unknown = Assert.ThrowsAsync<LinkApiException>(() => _links.Client.CreateProxyAsync(new LinkProxySpec("x", "127.0.0.1:0", _echo.Address, Protocol: "sctp")))!;

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(400));
            Assert.That(refused.Message, Does.Contain("slicer").And.Contain("udp link takes latency, bandwidth, timeout"));
            Assert.That(unknown.StatusCode, Is.EqualTo(400));
            Assert.That(unknown.Message, Does.Contain("unknown protocol: sctp"));
        });
    }

    /// <summary>A UDP server on a free loopback port that answers every datagram with "echo: " and what it got.</summary>
    private sealed class UdpEcho : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly Thread _thread;
        private readonly List<string> _received = [];

        public UdpEcho()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _thread = new Thread(Serve) { IsBackground = true, Name = "udp-echo" };
            _thread.Start();
        }

        public string Address => ((IPEndPoint)_socket.LocalEndPoint!).ToString();

        public IReadOnlyList<string> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public void Dispose()
        {
            _socket.Dispose();
            _thread.Join();
        }

        private void Serve()
        {
            var buffer = new byte[65_535];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            while (true)
            {
                try
                {
                    var count = _socket.ReceiveFrom(buffer, ref from);
                    var text = Encoding.UTF8.GetString(buffer, 0, count);
                    lock (_received)
                    {
                        _received.Add(text);
                    }

                    _socket.SendTo(Encoding.UTF8.GetBytes("echo: " + text), from);
                }
                catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A client socket of its own, blocking I/O (so what is timed is the link, not the thread pool).</summary>
    private sealed class UdpClientSide : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly byte[] _buffer = new byte[65_535];

        public UdpClientSide(IPEndPoint link)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _socket.Connect(link);
        }

        public void Send(string text) => _socket.Send(Encoding.UTF8.GetBytes(text));

        /// <summary>Sends and waits for one reply; null when none comes in time.</summary>
        public string? Exchange(string text, TimeSpan wait)
        {
            Send(text);
            return Receive(wait);
        }

        /// <summary>A round trip in milliseconds, or null when the reply never came.</summary>
        public double? RoundTrip(TimeSpan wait)
        {
            var started = Stopwatch.GetTimestamp();
            return Exchange("ping", wait) is null ? null : Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        /// <summary>Counts replies until none arrives for <paramref name="quiet"/>.</summary>
        public int DrainReplies(TimeSpan quiet)
        {
            var count = 0;
            while (Receive(quiet) is not null)
            {
                count++;
            }

            return count;
        }

        public void Dispose() => _socket.Dispose();

        private string? Receive(TimeSpan wait)
        {
            _socket.ReceiveTimeout = (int)wait.TotalMilliseconds;
            try
            {
                var count = _socket.Receive(_buffer);
                return Encoding.UTF8.GetString(_buffer, 0, count);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return null;
            }
        }
    }
}
