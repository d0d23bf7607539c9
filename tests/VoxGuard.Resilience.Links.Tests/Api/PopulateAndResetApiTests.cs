using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>POST /populate (validate all, then add or replace) and POST /reset.</summary>
[TestFixture]
internal sealed class PopulateAndResetApiTests : ApiTestBase
{
    [Test]
    public async Task Populating_creates_every_proxy_with_201_and_returns_them_in_order()
    {
        var response = await PostAsync("/populate", """
            [{"name":"one","listen":"127.0.0.1:0","upstream":"127.0.0.1:9"},
             {"name":"two","listen":"127.0.0.1:0","upstream":"127.0.0.1:10","enabled":false}]
            """);

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        var proxies = response.Json.GetProperty("proxies");
        var port = PortOf(proxies[0]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Body, Is.EqualTo(
                $$"""{"proxies":[{"name":"one","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]},{"name":"two","listen":"127.0.0.1:0","upstream":"127.0.0.1:10","enabled":false,"toxics":[]}]}"""));
        }

        Assert.That(await AcceptsConnectionsAsync(port), Is.True);
        var all = (await GetAsync("/proxies")).Json;
        Assert.That(all.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "one", "two" }));
    }

    [Test]
    public async Task Populating_with_enabled_null_or_omitted_enables_the_proxy()
    {
        var response = await PostAsync("/populate", """[{"name":"n","upstream":"127.0.0.1:9","enabled":null}]""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("proxies")[0].GetProperty("enabled").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Populating_with_an_empty_array_is_201_with_proxies_null()
    {
        var response = await PostAsync("/populate", "[]");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(201));
            Assert.That(response.Body, Is.EqualTo("""{"proxies":null}"""));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
        }
    }

    [Test]
    public async Task Populating_validates_every_entry_before_creating_any()
    {
        var response = await PostAsync("/populate", """
            [{"name":"valid","listen":"127.0.0.1:0","upstream":"127.0.0.1:9"},
             {"listen":"127.0.0.1:0","upstream":"127.0.0.1:9"}]
            """);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(400));
            Assert.That(response.Body, Is.EqualTo("""{"error":"missing required field: name at proxy 2","status":400,"proxies":null}"""));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
        }

        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"), "no proxy is created when validation fails");
    }

    [Test]
    public async Task Populating_without_an_upstream_names_the_entry()
    {
        var response = await PostAsync("/populate", """
            [{"name":"a","upstream":"127.0.0.1:9"},{"name":"b","upstream":"127.0.0.1:9"},{"name":"c","upstream":""}]
            """);

        Assert.That(response.Status, Is.EqualTo(400));
        Assert.That(response.Body, Is.EqualTo("""{"error":"missing required field: upstream at proxy 3","status":400,"proxies":null}"""));
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Populating_reports_the_first_invalid_entry()
    {
        var response = await PostAsync("/populate", """[{"name":"a"},{"upstream":"127.0.0.1:9"}]""");

        Assert.That(response.Body, Is.EqualTo("""{"error":"missing required field: upstream at proxy 1","status":400,"proxies":null}"""));
    }

    [Test]
    public async Task A_type_error_anywhere_in_the_array_wins_over_a_missing_field()
    {
        // Go decodes the whole array before it checks any entry.
        var response = await PostAsync("/populate", """[{"upstream":"127.0.0.1:9"},{"name":"b","upstream":"127.0.0.1:9","enabled":"yes"}]""");

        Assert.That(response.Status, Is.EqualTo(400));
        Assert.That(response.Json.GetProperty("error").GetString(), Does.StartWith("bad request body: "));
        Assert.That(response.Json.GetProperty("proxies").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [TestCase("""{"name":"a","upstream":"127.0.0.1:9"}""")]
    [TestCase("{broken")]
    [TestCase("[1,2]")]
    [TestCase("\"text\"")]
    public async Task Populating_with_anything_but_an_array_of_objects_is_400_bad_request_body(string body)
    {
        var response = await PostAsync("/populate", body);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(400));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Json.GetProperty("error").GetString(), Does.StartWith("bad request body: "));
            Assert.That(response.Json.GetProperty("status").GetInt32(), Is.EqualTo(400));
            Assert.That(response.Json.GetProperty("proxies").ValueKind, Is.EqualTo(JsonValueKind.Null));
        }

        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Populating_with_an_empty_body_is_400_bad_request_body_EOF()
    {
        var response = await PostAsync("/populate", string.Empty);

        Assert.That(response.Body, Is.EqualTo("""{"error":"bad request body: EOF","status":400,"proxies":null}"""));
    }

    [Test]
    public async Task Populating_an_identical_proxy_keeps_it_with_its_toxics_and_state()
    {
        var existing = await CreateProxyAsync("same");
        var listen = existing.GetProperty("listen").GetString()!;
        await CreateToxicAsync("same", """{"type":"latency","attributes":{"latency":7}}""");

        var response = await PostAsync("/populate", $$"""[{"name":"same","listen":"{{listen}}","upstream":"127.0.0.1:9","enabled":false}]""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("proxies")[0].GetProperty("name").GetString(), Is.EqualTo("same"));
        var kept = (await GetAsync("/proxies/same")).Json;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(kept.GetProperty("listen").GetString(), Is.EqualTo(listen));
            Assert.That(kept.GetProperty("enabled").GetBoolean(), Is.True, "the input's enabled is ignored for an identical proxy");
            Assert.That(kept.GetProperty("toxics").GetArrayLength(), Is.EqualTo(1));
        }

        Assert.That(await AcceptsConnectionsAsync(PortOf(kept)), Is.True);
    }

    [Test]
    public async Task Populating_a_changed_proxy_replaces_it_and_drops_its_toxics()
    {
        await using var upstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("replaced"));
        var existing = await CreateProxyAsync("changed");
        var listen = existing.GetProperty("listen").GetString()!;
        await CreateToxicAsync("changed", """{"type":"timeout","attributes":{"timeout":0}}""");

        var response = await PostAsync("/populate", $$"""[{"name":"changed","listen":"{{listen}}","upstream":"{{upstream.Address}}"}]""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"proxies":[{"name":"changed","listen":"{{listen}}","upstream":"{{upstream.Address}}","enabled":true,"toxics":[]}]}"""));
        Assert.That(await ReadThroughAsync(PortOf(existing)), Is.EqualTo("replaced"), "the new proxy relays without the old timeout toxic");
    }

    [Test]
    public async Task Populating_never_deletes_proxies_missing_from_the_input()
    {
        await CreateProxyAsync("untouched");

        var response = await PostAsync("/populate", """[{"name":"added","upstream":"127.0.0.1:9"}]""");

        Assert.That(response.Status, Is.EqualTo(201));
        var names = (await GetAsync("/proxies")).Json.EnumerateObject().Select(p => p.Name);
        Assert.That(names, Is.EqualTo(new[] { "added", "untouched" }));
    }

    [Test]
    public async Task Populating_stops_at_the_first_bind_error_with_500_and_the_proxies_created_so_far()
    {
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var response = await PostAsync("/populate", $$"""
            [{"name":"first","upstream":"127.0.0.1:9"},
             {"name":"second","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9"},
             {"name":"third","upstream":"127.0.0.1:9"}]
            """);

        Assert.That(response.Status, Is.EqualTo(500), response.Body);
        var first = response.Json.GetProperty("proxies")[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Body, Is.EqualTo(
                $$"""{"error":"listen tcp 127.0.0.1:{{port}}: bind: address already in use","status":500,"proxies":[{"name":"first","listen":"127.0.0.1:{{PortOf(first)}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]}]}"""));
        }

        var names = (await GetAsync("/proxies")).Json.EnumerateObject().Select(p => p.Name);
        Assert.That(names, Is.EqualTo(new[] { "first" }));
    }

    [Test]
    public async Task A_replacement_that_cannot_bind_leaves_the_old_proxy_in_place_but_stopped()
    {
        var oldPort = PortOf(await CreateProxyAsync("victim"));
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var response = await PostAsync("/populate", $$"""[{"name":"victim","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9"}]""");

        Assert.That(response.Status, Is.EqualTo(500), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"error":"listen tcp 127.0.0.1:{{port}}: bind: address already in use","status":500,"proxies":null}"""));
        var old = await GetAsync("/proxies/victim");
        Assert.That(old.Status, Is.EqualTo(200));
        Assert.That(old.Json.GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(PortOf(old.Json), Is.EqualTo(oldPort));
        Assert.That(await AcceptsConnectionsAsync(oldPort), Is.False);
    }

    [Test]
    public async Task Reset_is_204_empty_and_reenables_disabled_proxies_on_their_port()
    {
        var port = PortOf(await CreateProxyAsync("sleepy"));
        await PatchAsync("/proxies/sleepy", """{"enabled":false}""");
        Assert.That(await AcceptsConnectionsAsync(port), Is.False);

        var response = await PostAsync("/reset");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(204));
            Assert.That(response.Body, Is.Empty);
            Assert.That(response.ContentType, Is.Null);
        }

        Assert.That((await GetAsync("/proxies/sleepy")).Body, Is.EqualTo(
            $$"""{"name":"sleepy","listen":"127.0.0.1:{{port}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]}"""));
        Assert.That(await AcceptsConnectionsAsync(port), Is.True);
    }

    [Test]
    public async Task Reset_removes_every_toxic_of_every_proxy_and_keeps_the_proxies()
    {
        var a = await CreateProxyAsync("a");
        var b = await CreateProxyAsync("b", "127.0.0.1:10");
        await CreateToxicAsync("a", """{"type":"latency","attributes":{"latency":50}}""");
        await CreateToxicAsync("a", """{"type":"bandwidth","stream":"upstream","attributes":{"rate":1}}""");
        await CreateToxicAsync("b", """{"type":"timeout","attributes":{"timeout":10}}""");

        var response = await PostAsync("/reset");

        Assert.That(response.Status, Is.EqualTo(204));
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo(
            $$$"""{"a":{"name":"a","listen":"127.0.0.1:{{{PortOf(a)}}}","upstream":"127.0.0.1:9","enabled":true,"toxics":[]},"b":{"name":"b","listen":"127.0.0.1:{{{PortOf(b)}}}","upstream":"127.0.0.1:10","enabled":true,"toxics":[]}}"""));
        Assert.That((await GetAsync("/proxies/a/toxics")).Body, Is.EqualTo("[]"));
    }

    [Test]
    public async Task Reset_with_no_proxies_is_204()
    {
        var response = await PostAsync("/reset", string.Empty);

        Assert.That(response.Status, Is.EqualTo(204));
    }

    [Test]
    public async Task Reset_that_cannot_rebind_a_disabled_proxy_is_500_and_keeps_its_toxics()
    {
        await CreateProxyAsync("blocked");
        await CreateToxicAsync("blocked", """{"type":"noop"}""");
        using var held = TakeLoopbackPort();
        var port = PortOf(held);
        await PatchAsync("/proxies/blocked", $$"""{"listen":"127.0.0.1:{{port}}","enabled":false}""");

        var response = await PostAsync("/reset");

        AssertApiError(response, 500, $"listen tcp 127.0.0.1:{port}: bind: address already in use");
        Assert.That((await GetAsync("/proxies/blocked/toxics")).Json.GetArrayLength(), Is.EqualTo(1));
    }
}
