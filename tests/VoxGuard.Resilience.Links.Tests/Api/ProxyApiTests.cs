using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>GET/POST /proxies and GET/PATCH/POST/DELETE /proxies/{name}, byte for byte.</summary>
[TestFixture]
internal sealed class ProxyApiTests : ApiTestBase
{
    [Test]
    public async Task Listing_proxies_with_none_is_an_empty_json_object()
    {
        var response = await GetAsync("/proxies");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo("{}"));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
        }
    }

    [Test]
    public async Task Creating_a_proxy_is_201_enabled_by_default_on_the_real_port_it_bound()
    {
        var response = await PostAsync("/proxies", """{"name":"db","listen":"127.0.0.1:0","upstream":"127.0.0.1:9"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        var port = PortOf(response.Json);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(port, Is.GreaterThan(0));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Body, Is.EqualTo(
                $$"""{"name":"db","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]}"""));
        }

        Assert.That(await AcceptsConnectionsAsync(port), Is.True);
    }

    [Test]
    public async Task A_created_proxy_relays_to_its_upstream()
    {
        await using var upstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("hello from upstream"));
        var proxy = await CreateProxyAsync("relay", upstream.Address);

        Assert.That(await ReadThroughAsync(PortOf(proxy)), Is.EqualTo("hello from upstream"));
    }

    [Test]
    public async Task Creating_a_disabled_proxy_keeps_its_listen_as_given_and_does_not_listen()
    {
        using var held = TakeLoopbackPort();
        var port = PortOf(held);
        held.Dispose();

        var response = await PostAsync("/proxies", $$"""{"name":"off","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":false}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"off","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":false,"toxics":[]}"""));
        Assert.That(await AcceptsConnectionsAsync(port), Is.False);
    }

    [Test]
    public async Task Creating_a_proxy_without_listen_listens_on_a_free_loopback_port()
    {
        // Intentional deviation from Toxiproxy (which binds every interface): loopback only.
        var response = await PostAsync("/proxies", """{"name":"nolisten","upstream":"127.0.0.1:9"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("listen").GetString(), Does.Match(@"^127\.0\.0\.1:[1-9][0-9]*$"));
        Assert.That(await AcceptsConnectionsAsync(PortOf(response.Json)), Is.True);
    }

    [TestCase("""{"upstream":"127.0.0.1:9"}""")]
    [TestCase("""{"name":"","upstream":"127.0.0.1:9"}""")]
    [TestCase("""{"name":null,"upstream":"127.0.0.1:9"}""")]
    [TestCase("""{}""")]
    [TestCase("""{"listen":"127.0.0.1:0"}""")]
    public async Task Creating_a_proxy_without_a_name_is_400_missing_required_field_name(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertApiError(response, 400, "missing required field: name");
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [TestCase("""{"name":"p"}""")]
    [TestCase("""{"name":"p","upstream":""}""")]
    [TestCase("""{"name":"p","upstream":null,"listen":"127.0.0.1:0"}""")]
    public async Task Creating_a_proxy_without_an_upstream_is_400_missing_required_field_upstream(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertApiError(response, 400, "missing required field: upstream");
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Creating_a_proxy_with_a_taken_name_is_409_proxy_already_exists()
    {
        var first = await CreateProxyAsync("dup");

        var response = await PostAsync("/proxies", ProxyBody("dup", "127.0.0.1:10"));

        AssertApiError(response, 409, "proxy already exists");
        var kept = (await GetAsync("/proxies/dup")).Json;
        Assert.That(kept.GetProperty("upstream").GetString(), Is.EqualTo(NowhereUpstream));
        Assert.That(kept.GetProperty("listen").GetString(), Is.EqualTo(first.GetProperty("listen").GetString()));
    }

    [Test]
    public async Task A_taken_name_is_409_before_the_listen_address_is_even_tried()
    {
        using var held = TakeLoopbackPort();
        await CreateProxyAsync("dup");

        var response = await PostAsync("/proxies", ProxyBody("dup", NowhereUpstream, $"127.0.0.1:{PortOf(held)}"));

        AssertApiError(response, 409, "proxy already exists");
    }

    [Test]
    public async Task Creating_a_proxy_on_a_port_bound_elsewhere_is_500_with_the_bind_error()
    {
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var response = await PostAsync("/proxies", ProxyBody("clash", NowhereUpstream, $"127.0.0.1:{port}"));

        AssertApiError(response, 500, $"listen tcp 127.0.0.1:{port}: bind: address already in use");
        Assert.That(response.Error, Does.StartWith($"listen tcp 127.0.0.1:{port}: bind:"));
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"), "a proxy that could not bind is not kept");
    }

    [Test]
    public async Task Creating_a_second_proxy_on_the_listen_address_of_another_is_500()
    {
        var first = await CreateProxyAsync("first");
        var listen = first.GetProperty("listen").GetString()!;

        var response = await PostAsync("/proxies", ProxyBody("second", NowhereUpstream, listen));

        AssertApiError(response, 500, $"listen tcp {listen}: bind: address already in use");
    }

    [Test]
    public async Task Creating_a_proxy_with_a_listen_address_without_port_is_500_listen_tcp()
    {
        var response = await PostAsync("/proxies", ProxyBody("noport", NowhereUpstream, "local373"));

        Assert.That(response.Status, Is.EqualTo(500));
        Assert.That(response.Error, Does.StartWith("listen tcp").And.EndWith("address local373: missing port in address"));
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task A_listen_address_without_port_is_500_with_Go_exact_text()
    {
        var response = await PostAsync("/proxies", ProxyBody("noport", NowhereUpstream, "local373"));

        AssertApiError(response, 500, "listen tcp: address local373: missing port in address");
    }

    [Test]
    public async Task Getting_a_proxy_returns_it_with_its_toxics()
    {
        var created = await CreateProxyAsync("shown");
        await CreateToxicAsync("shown", """{"type":"latency","attributes":{"latency":5}}""");

        var response = await GetAsync("/proxies/shown");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"shown","listen":"127.0.0.1:{{PortOf(created)}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[{"attributes":{"latency":5,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}]}"""));
    }

    [TestCase("GET")]
    [TestCase("PATCH")]
    [TestCase("POST")]
    [TestCase("DELETE")]
    public async Task An_unknown_proxy_is_404_proxy_not_found(string method)
    {
        var response = await SendAsync(new HttpMethod(method), "/proxies/ghost", method is "PATCH" or "POST" ? """{"enabled":false}""" : null);

        AssertApiError(response, 404, "proxy not found");
    }

    [Test]
    public async Task An_unknown_proxy_is_404_even_when_the_update_body_is_broken()
    {
        var response = await PatchAsync("/proxies/ghost", "{broken");

        AssertApiError(response, 404, "proxy not found");
    }

    [Test]
    public async Task Listing_proxies_is_an_object_keyed_by_name_in_sorted_order()
    {
        var b = await CreateProxyAsync("b");
        var a = await CreateProxyAsync("a", "127.0.0.1:10", enabled: false);

        var response = await GetAsync("/proxies");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Body, Is.EqualTo(
            $$$"""{"a":{"name":"a","listen":"127.0.0.1:0","upstream":"127.0.0.1:10","enabled":false,"toxics":[]},"b":{"name":"b","listen":"127.0.0.1:{{{PortOf(b)}}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]}}"""));
        Assert.That(a.GetProperty("enabled").GetBoolean(), Is.False);
    }

    [Test]
    public async Task Disabling_a_proxy_keeps_listen_and_upstream_and_stops_listening()
    {
        var created = await CreateProxyAsync("toggle");
        var port = PortOf(created);

        var response = await PatchAsync("/proxies/toggle", """{"enabled":false}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"toggle","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":false,"toxics":[]}"""));
        Assert.That(await AcceptsConnectionsAsync(port), Is.False);
    }

    [Test]
    public async Task Enabling_a_disabled_proxy_listens_again_on_the_same_port_with_its_toxics()
    {
        await using var upstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("back"));
        var port = PortOf(await CreateProxyAsync("toggle", upstream.Address));
        await CreateToxicAsync("toggle", """{"type":"noop","name":"stays"}""");
        Assert.That((await PatchAsync("/proxies/toggle", """{"enabled":false}""")).Status, Is.EqualTo(200));

        var response = await PatchAsync("/proxies/toggle", """{"enabled":true}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Json.GetProperty("enabled").GetBoolean(), Is.True);
            Assert.That(PortOf(response.Json), Is.EqualTo(port));
            Assert.That(response.Json.GetProperty("toxics")[0].GetProperty("name").GetString(), Is.EqualTo("stays"));
        }

        Assert.That(await ReadThroughAsync(port), Is.EqualTo("back"));
    }

    [Test]
    public async Task Disabling_a_proxy_closes_its_live_connections()
    {
        await using var upstream = new EchoServer();
        var port = PortOf(await CreateProxyAsync("live", upstream.Address));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync("ping"u8.ToArray());
        var buffer = new byte[16];
        Assert.That(await client.ReceiveAsync(buffer), Is.EqualTo(4));

        await PatchAsync("/proxies/live", """{"enabled":false}""");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int read;
        try
        {
            read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        }
        catch (SocketException)
        {
            read = 0;
        }

        Assert.That(read, Is.Zero, "the connection through a disabled proxy is closed");
    }

    [Test]
    public async Task Changing_only_the_upstream_keeps_listen_and_relays_to_the_new_upstream()
    {
        await using var oldUpstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("old"));
        await using var newUpstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("new"));
        var port = PortOf(await CreateProxyAsync("moving", oldUpstream.Address));
        Assert.That(await ReadThroughAsync(port), Is.EqualTo("old"));

        var response = await PatchAsync("/proxies/moving", $$"""{"upstream":"{{newUpstream.Address}}"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"moving","listen":"127.0.0.1:{{port}}","upstream":"{{newUpstream.Address}}","enabled":true,"toxics":[]}"""));
        Assert.That(await ReadThroughAsync(port), Is.EqualTo("new"));
    }

    [Test]
    public async Task Changing_the_listen_address_moves_the_listener()
    {
        var oldPort = PortOf(await CreateProxyAsync("mover"));
        using var held = TakeLoopbackPort();
        var newPort = PortOf(held);
        held.Dispose();

        var response = await PatchAsync("/proxies/mover", $$"""{"listen":"127.0.0.1:{{newPort}}"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Json.GetProperty("listen").GetString(), Is.EqualTo($"127.0.0.1:{newPort}"));
        Assert.That(await AcceptsConnectionsAsync(newPort), Is.True);
        Assert.That(await AcceptsConnectionsAsync(oldPort), Is.False);
    }

    [Test]
    public async Task Moving_an_enabled_proxy_to_a_taken_port_is_500_and_leaves_it_disabled_with_the_new_values()
    {
        await CreateProxyAsync("stuck");
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var response = await PatchAsync("/proxies/stuck", $$"""{"listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:10"}""");

        AssertApiError(response, 500, $"listen tcp 127.0.0.1:{port}: bind: address already in use");
        var proxy = (await GetAsync("/proxies/stuck")).Json;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxy.GetProperty("enabled").GetBoolean(), Is.False);
            Assert.That(proxy.GetProperty("listen").GetString(), Is.EqualTo($"127.0.0.1:{port}"));
            Assert.That(proxy.GetProperty("upstream").GetString(), Is.EqualTo("127.0.0.1:10"));
        }
    }

    [Test]
    public async Task Moving_and_disabling_at_once_does_not_try_to_bind_the_new_address()
    {
        await CreateProxyAsync("parked");
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var response = await PatchAsync("/proxies/parked", $$"""{"listen":"127.0.0.1:{{port}}","enabled":false}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"parked","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":false,"toxics":[]}"""));
    }

    [Test]
    public async Task Updating_ignores_name_toxics_and_unknown_fields()
    {
        var port = PortOf(await CreateProxyAsync("fixed"));

        var response = await PatchAsync("/proxies/fixed", """{"name":"renamed","toxics":[{"type":"latency"}],"colour":"blue","upstream":"127.0.0.1:11"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"name":"fixed","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:11","enabled":true,"toxics":[]}"""));
        Assert.That((await GetAsync("/proxies/renamed")).Status, Is.EqualTo(404));
    }

    [Test]
    public async Task Updating_with_an_empty_object_changes_nothing()
    {
        var created = await CreateProxyAsync("same");

        var response = await PatchAsync("/proxies/same", "{}");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Body, Is.EqualTo(created.GetRawText()));
    }

    [Test]
    public async Task POST_is_accepted_as_the_deprecated_alias_for_updating_a_proxy()
    {
        var port = PortOf(await CreateProxyAsync("legacy"));

        var response = await PostAsync("/proxies/legacy", """{"enabled":false}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Json.GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(await AcceptsConnectionsAsync(port), Is.False);
    }

    [Test]
    public async Task Updating_with_an_empty_body_is_400_bad_request_body_EOF()
    {
        await CreateProxyAsync("eof");

        var response = await PatchAsync("/proxies/eof", string.Empty);

        AssertApiError(response, 400, "bad request body: EOF");
    }

    [Test]
    public async Task Updating_with_a_wrong_type_is_400_and_changes_nothing()
    {
        var created = await CreateProxyAsync("typed");

        var response = await PatchAsync("/proxies/typed", """{"enabled":"no","upstream":"127.0.0.1:12"}""");

        AssertBadRequestBody(response);
        Assert.That((await GetAsync("/proxies/typed")).Body, Is.EqualTo(created.GetRawText()));
    }

    [Test]
    public async Task Deleting_a_proxy_is_204_empty_and_frees_its_port()
    {
        var port = PortOf(await CreateProxyAsync("gone"));

        var response = await DeleteAsync("/proxies/gone");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(204));
            Assert.That(response.Body, Is.Empty);
            Assert.That(response.ContentType, Is.Null);
        }

        Assert.That(await AcceptsConnectionsAsync(port), Is.False);
        AssertApiError(await GetAsync("/proxies/gone"), 404, "proxy not found");
        AssertApiError(await DeleteAsync("/proxies/gone"), 404, "proxy not found");
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Proxy_json_escapes_html_characters_as_Go_does()
    {
        var response = await PostAsync("/proxies", """{"name":"a<b>&c","upstream":"127.0.0.1:9","listen":"127.0.0.1:0"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Does.StartWith("""{"name":"a\u003cb\u003e\u0026c","listen":"127.0.0.1:"""));
        Assert.That((await GetAsync("/proxies/a%3Cb%3E%26c")).Status, Is.EqualTo(200));
    }

    [Test]
    public async Task Proxy_json_keeps_non_ascii_text_as_utf8()
    {
        var response = await PostAsync("/proxies", """{"name":"région-é","upstream":"127.0.0.1:9"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Does.StartWith("""{"name":"région-é","""));
    }
}
