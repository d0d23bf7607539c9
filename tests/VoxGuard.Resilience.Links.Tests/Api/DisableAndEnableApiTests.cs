using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>
/// POST /disable and /enable (an extension of Toxiproxy's API): several proxies switched in one change, all or
/// nothing — how a region's links are cut in one instant.
/// </summary>
[TestFixture]
internal sealed class DisableAndEnableApiTests : ApiTestBase
{
    [Test]
    public async Task Disabling_several_proxies_at_once_closes_their_listeners_and_live_connections_and_drops_delayed_bytes()
    {
        await using var upstream = new EchoServer();
        var ports = new Dictionary<string, int>();
        foreach (var name in new[] { "one", "two", "three", "untouched" })
        {
            ports[name] = PortOf(await CreateProxyAsync(name, upstream.Address));
        }

        // "two" holds its echo back for 2 s: bytes still inside the link when it is cut must never arrive.
        await CreateToxicAsync("two", """{"type":"latency","stream":"downstream","attributes":{"latency":2000}}""");
        var clients = new Dictionary<string, Socket>();
        foreach (var name in new[] { "one", "two", "three" })
        {
            clients[name] = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await clients[name].ConnectAsync(IPAddress.Loopback, ports[name]);
        }

        try
        {
            Assert.That(await EchoAsync(clients["one"]), Is.EqualTo(4));
            Assert.That(await EchoAsync(clients["three"]), Is.EqualTo(4));
            await clients["two"].SendAsync("ping"u8.ToArray());
            await Task.Delay(100); // the echo is inside the link now, held by the latency

            var response = await PostAsync("/disable", """["one","two","three"]""");

            Assert.That(response.Status, Is.EqualTo(200), response.Body);
            Assert.That(response.Body, Is.EqualTo(
                """{"proxies":[""" +
                $$"""{"name":"one","listen":"127.0.0.1:{{ports["one"]}}","upstream":"{{upstream.Address}}","enabled":false,"toxics":[]},""" +
                $$"""{"name":"two","listen":"127.0.0.1:{{ports["two"]}}","upstream":"{{upstream.Address}}","enabled":false,"toxics":[{"attributes":{"latency":2000,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}]},""" +
                $$"""{"name":"three","listen":"127.0.0.1:{{ports["three"]}}","upstream":"{{upstream.Address}}","enabled":false,"toxics":[]}""" +
                "]}"));
            using (Assert.EnterMultipleScope())
            {
                foreach (var (name, client) in clients)
                {
                    Assert.That(await ReadUntilClosedAsync(client), Is.Zero, $"{name}: its connection is closed, and nothing the link still held arrives");
                    Assert.That(await AcceptsConnectionsAsync(ports[name]), Is.False, $"{name} no longer listens");
                }

                Assert.That(await AcceptsConnectionsAsync(ports["untouched"]), Is.True, "a proxy not named stays enabled");
            }
        }
        finally
        {
            foreach (var client in clients.Values)
            {
                client.Dispose();
            }
        }
    }

    [Test]
    public async Task Enabling_several_proxies_at_once_listens_again_on_the_same_ports_and_relays()
    {
        await using var upstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("back"));
        var first = PortOf(await CreateProxyAsync("first", upstream.Address));
        var second = PortOf(await CreateProxyAsync("second", upstream.Address));
        Assert.That((await PostAsync("/disable", """["first","second"]""")).Status, Is.EqualTo(200));

        var response = await PostAsync("/enable", """["first","second","first"]""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        var proxies = response.Json.GetProperty("proxies").EnumerateArray().ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxies.Select(proxy => proxy.GetProperty("name").GetString()), Is.EqualTo(new[] { "first", "second" }), "each proxy once, in the order named");
            Assert.That(proxies.All(proxy => proxy.GetProperty("enabled").GetBoolean()), Is.True);
            Assert.That(await ReadThroughAsync(first), Is.EqualTo("back"));
            Assert.That(await ReadThroughAsync(second), Is.EqualTo("back"));
        }
    }

    [Test]
    public async Task An_unknown_proxy_is_404_and_changes_nothing()
    {
        var port = PortOf(await CreateProxyAsync("known"));

        var response = await PostAsync("/disable", """["known","ghost"]""");

        AssertApiError(response, 404, "proxy not found: ghost");
        Assert.That(await AcceptsConnectionsAsync(port), Is.True, "the known proxy named before the unknown one is still enabled");
    }

    [Test]
    public async Task A_proxy_that_cannot_listen_again_is_500_and_those_started_before_it_are_stopped_again()
    {
        await using var upstream = new EchoServer();
        var started = PortOf(await CreateProxyAsync("starts", upstream.Address));
        using var held = TakeLoopbackPort();
        await CreateProxyAsync("blocked", listen: $"127.0.0.1:{PortOf(held)}", enabled: false);
        Assert.That((await PostAsync("/disable", """["starts"]""")).Status, Is.EqualTo(200));

        var response = await PostAsync("/enable", """["starts","blocked"]""");

        AssertApiError(response, 500, $"listen tcp 127.0.0.1:{PortOf(held)}: bind: address already in use");
        var proxies = await Links.Client.GetProxiesAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxies["starts"].Enabled, Is.False, "all or nothing: the proxy this request started is stopped again");
            Assert.That(proxies["blocked"].Enabled, Is.False);
            Assert.That(await AcceptsConnectionsAsync(started), Is.False);
        }
    }

    [TestCase("", "EOF")]
    [TestCase("""{"proxies":["a"]}""", "json: cannot unmarshal object into a value of type array")]
    [TestCase("""["a",1]""", "json: cannot unmarshal number into a value of type string")]
    public async Task A_body_that_is_not_an_array_of_names_is_a_bad_request(string body, string detail)
    {
        AssertBadRequestBody(await PostAsync("/disable", body), detail);
        AssertBadRequestBody(await PostAsync("/enable", body), detail);
    }

    [Test]
    public async Task An_empty_list_is_400_naming_what_to_send()
    {
        AssertApiError(await PostAsync("/disable", "[]"), 400, "name the proxies to disable: a JSON array of proxy names, e.g. [\\\"lagos-abuja-pg\\\"]");
    }

    [Test]
    public async Task Only_post_is_allowed()
    {
        Assert.That((await GetAsync("/disable")).Status, Is.EqualTo(405));
        Assert.That((await DeleteAsync("/enable")).Status, Is.EqualTo(405));
    }

    private static async Task<int> EchoAsync(Socket client)
    {
        await client.SendAsync("ping"u8.ToArray());
        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
    }

    /// <summary>The bytes read before the connection closed (a reset counts as closed), within 5 s.</summary>
    private static async Task<int> ReadUntilClosedAsync(Socket client)
    {
        var buffer = new byte[16];
        var total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int read;
            while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                total += read;
            }
        }
        catch (SocketException)
        {
            // reset: closed
        }

        return total;
    }
}
