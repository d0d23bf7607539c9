using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links.Proxies;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Toxics;

/// <summary>
/// <see cref="ProxyRuntime.Silence"/>, the first half of a cut: from that instant the link delivers nothing and admits
/// nobody, before its connections are closed — how a region's links all stop at once.
/// </summary>
[TestFixture]
internal sealed class LinkSilenceTests
{
    [Test]
    public async Task A_silenced_link_delivers_nothing_more_and_dials_no_new_connection_until_it_is_started_again()
    {
        await using var upstream = new EchoServer();
        using var clock = new LinkClock();
        var proxy = new ProxyRuntime("quiet", "127.0.0.1:0", upstream.Address, clock, () => 1);
        await proxy.StartAsync();
        try
        {
            var port = IPEndPoint.Parse(proxy.Listen).Port;
            using var open = await ConnectAsync(port);
            Assert.That(await EchoAsync(open), Is.EqualTo(4), "the link relays before it is silenced");

            proxy.Silence();

            using (Assert.EnterMultipleScope())
            {
                Assert.That(proxy.Enabled, Is.True, "silenced, not yet closed: the listener is still there");
                Assert.That(await EchoAsync(open), Is.Zero, "nothing is delivered; the pipe that could not send closes the connection");
                using var late = await ConnectAsync(port);
                Assert.That(await EchoAsync(late), Is.Zero, "a connection accepted while silenced is closed");
                Assert.That(upstream.AcceptedCount, Is.EqualTo(1), "and never dialled: the upstream saw only the first connection");
            }

            await proxy.StopAsync();
            Assert.That(proxy.Enabled, Is.False);

            await proxy.StartAsync();
            using var again = await ConnectAsync(IPEndPoint.Parse(proxy.Listen).Port);
            Assert.That(await EchoAsync(again), Is.EqualTo(4), "started again, the link has a new switch and relays");
        }
        finally
        {
            await proxy.StopAsync();
        }
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>Sends "ping" and returns how many bytes came back before the connection closed (5 s at most); 0 when closed.</summary>
    private static async Task<int> EchoAsync(Socket socket)
    {
        try
        {
            await socket.SendAsync("ping"u8.ToArray());
        }
        catch (SocketException)
        {
            return 0;
        }

        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        }
        catch (SocketException)
        {
            return 0;
        }
    }
}
