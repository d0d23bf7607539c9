using System.Net;
using System.Text;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>The typed <see cref="LinkClient"/> against the link server: every call, every refusal.</summary>
[TestFixture]
internal sealed class LinkClientTests : ApiTestBase
{
    private LinkClient Client => Links.Client;

    [Test]
    public async Task The_version_is_the_compatible_Toxiproxy_version()
    {
        Assert.That(await Client.GetVersionAsync(), Is.EqualTo("2.12.0"));
        Assert.That(LinkServer.CompatibleToxiproxyVersion, Is.EqualTo("2.12.0"));
    }

    [Test]
    public async Task Creating_a_proxy_returns_it_listening_on_a_real_port()
    {
        var proxy = await Client.CreateProxyAsync(new LinkProxySpec("api", "127.0.0.1:0", NowhereUpstream));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxy.Name, Is.EqualTo("api"));
            Assert.That(proxy.Upstream, Is.EqualTo(NowhereUpstream));
            Assert.That(proxy.Enabled, Is.True);
            Assert.That(proxy.Toxics, Is.Empty);
            Assert.That(IPEndPoint.Parse(proxy.Listen).Port, Is.GreaterThan(0));
        }

        Assert.That(await AcceptsConnectionsAsync(IPEndPoint.Parse(proxy.Listen).Port), Is.True);
    }

    [Test]
    public async Task Creating_a_disabled_proxy_does_not_listen()
    {
        var proxy = await Client.CreateProxyAsync(new LinkProxySpec("off", "127.0.0.1:0", NowhereUpstream, Enabled: false));

        Assert.That(proxy.Enabled, Is.False);
        Assert.That(proxy.Listen, Is.EqualTo("127.0.0.1:0"));
    }

    [Test]
    public async Task Proxies_are_listed_by_name()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("zeta", "127.0.0.1:0", NowhereUpstream));
        await Client.CreateProxyAsync(new LinkProxySpec("alpha", "127.0.0.1:0", "127.0.0.1:10"));

        var proxies = await Client.GetProxiesAsync();

        Assert.That(proxies.Keys, Is.EquivalentTo(new[] { "alpha", "zeta" }));
        Assert.That(proxies["alpha"].Upstream, Is.EqualTo("127.0.0.1:10"));
        Assert.That(proxies["zeta"].Name, Is.EqualTo("zeta"));
    }

    [Test]
    public async Task No_proxies_is_an_empty_dictionary()
    {
        Assert.That(await Client.GetProxiesAsync(), Is.Empty);
    }

    [Test]
    public async Task A_taken_name_throws_409_proxy_already_exists()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("dup", "127.0.0.1:0", NowhereUpstream));

        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.CreateProxyAsync(new LinkProxySpec("dup", "127.0.0.1:0", NowhereUpstream)));

        Assert.That(refusal!.StatusCode, Is.EqualTo(409));
        Assert.That(refusal.ApiMessage, Is.EqualTo("proxy already exists"));
        Assert.That(refusal.Message, Does.Contain("POST /proxies").And.Contain("409").And.Contain("proxy already exists"));
    }

    [TestCase("", NowhereUpstream, "missing required field: name")]
    [TestCase("x", "", "missing required field: upstream")]
    public async Task A_missing_field_throws_400_with_the_field_named(string name, string upstream, string message)
    {
        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.CreateProxyAsync(new LinkProxySpec(name, "127.0.0.1:0", upstream)));

        Assert.That(refusal!.StatusCode, Is.EqualTo(400));
        Assert.That(refusal.ApiMessage, Is.EqualTo(message));
        Assert.That(await Client.GetProxiesAsync(), Is.Empty);
    }

    [Test]
    public void A_bind_error_throws_500_listen_tcp_bind()
    {
        using var held = TakeLoopbackPort();
        var port = PortOf(held);

        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.CreateProxyAsync(new LinkProxySpec("clash", $"127.0.0.1:{port}", NowhereUpstream)));

        Assert.That(refusal!.StatusCode, Is.EqualTo(500));
        Assert.That(refusal.ApiMessage, Does.StartWith($"listen tcp 127.0.0.1:{port}: bind:"));
    }

    [Test]
    public async Task Getting_a_proxy_returns_its_toxics()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("shown", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("shown", ToxicSpec.Latency(TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(4)));

        var proxy = await Client.GetProxyAsync("shown");

        Assert.That(proxy.Toxics, Has.Count.EqualTo(1));
        Assert.That(proxy.Toxics[0].Name, Is.EqualTo("latency_downstream"));
        Assert.That(proxy.Toxics[0].Attributes["latency"], Is.EqualTo(40));
        Assert.That(proxy.Toxics[0].Attributes["jitter"], Is.EqualTo(4));
    }

    [Test]
    public void Unknown_proxies_throw_404_proxy_not_found_on_every_call()
    {
        var calls = new Func<Task>[]
        {
            () => Client.GetProxyAsync("ghost"),
            () => Client.UpdateProxyAsync("ghost", new LinkProxyUpdate(Upstream: "127.0.0.1:10")),
            () => Client.DisableProxyAsync("ghost"),
            () => Client.EnableProxyAsync("ghost"),
            () => Client.DeleteProxyAsync("ghost"),
            () => Client.GetToxicsAsync("ghost"),
            () => Client.AddToxicAsync("ghost", ToxicSpec.Noop()),
            () => Client.GetToxicAsync("ghost", "t"),
            () => Client.UpdateToxicAsync("ghost", "t", new Dictionary<string, long>()),
            () => Client.RemoveToxicAsync("ghost", "t"),
        };

        foreach (var call in calls)
        {
            var refusal = Assert.ThrowsAsync<LinkApiException>(() => call());
            Assert.That(refusal!.StatusCode, Is.EqualTo(404));
            Assert.That(refusal.ApiMessage, Is.EqualTo("proxy not found"));
        }
    }

    [Test]
    public async Task Updating_the_upstream_keeps_listen_and_relays_to_the_new_upstream()
    {
        await using var upstream = new EchoServer(EchoServerMode.Source, Encoding.UTF8.GetBytes("via client"));
        var created = await Client.CreateProxyAsync(new LinkProxySpec("moving", "127.0.0.1:0", NowhereUpstream));

        var updated = await Client.UpdateProxyAsync("moving", new LinkProxyUpdate(Upstream: upstream.Address));

        Assert.That(updated.Listen, Is.EqualTo(created.Listen));
        Assert.That(updated.Upstream, Is.EqualTo(upstream.Address));
        Assert.That(updated.Enabled, Is.True);
        Assert.That(await ReadThroughAsync(IPEndPoint.Parse(updated.Listen).Port), Is.EqualTo("via client"));
    }

    [Test]
    public async Task Disabling_and_enabling_a_proxy_toggles_its_listener_on_the_same_port()
    {
        var created = await Client.CreateProxyAsync(new LinkProxySpec("toggle", "127.0.0.1:0", NowhereUpstream));
        var port = IPEndPoint.Parse(created.Listen).Port;

        var disabled = await Client.DisableProxyAsync("toggle");
        Assert.That(disabled.Enabled, Is.False);
        Assert.That(disabled.Listen, Is.EqualTo(created.Listen));
        Assert.That(await AcceptsConnectionsAsync(port), Is.False);

        var enabled = await Client.EnableProxyAsync("toggle");
        Assert.That(enabled.Enabled, Is.True);
        Assert.That(enabled.Listen, Is.EqualTo(created.Listen));
        Assert.That(await AcceptsConnectionsAsync(port), Is.True);
    }

    [Test]
    public async Task Several_proxies_are_disabled_and_enabled_in_one_request_each()
    {
        var ports = new List<int>();
        foreach (var name in new[] { "cut-a", "cut-b" })
        {
            ports.Add(IPEndPoint.Parse((await Client.CreateProxyAsync(new LinkProxySpec(name, "127.0.0.1:0", NowhereUpstream))).Listen).Port);
        }

        var disabled = await Client.DisableProxiesAsync(["cut-a", "cut-b"]);
        Assert.That(disabled.Select(proxy => (proxy.Name, proxy.Enabled)), Is.EqualTo(new[] { ("cut-a", false), ("cut-b", false) }));
        Assert.That(await AcceptsConnectionsAsync(ports[0]) || await AcceptsConnectionsAsync(ports[1]), Is.False);

        var enabled = await Client.EnableProxiesAsync(["cut-a", "cut-b"]);
        Assert.That(enabled.All(proxy => proxy.Enabled), Is.True);
        Assert.That(await AcceptsConnectionsAsync(ports[0]) && await AcceptsConnectionsAsync(ports[1]), Is.True);

        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.DisableProxiesAsync(["cut-a", "ghost"]));
        Assert.That((refusal!.StatusCode, refusal.ApiMessage), Is.EqualTo((404, "proxy not found: ghost")));
    }

    [Test]
    public async Task Against_a_server_without_the_disable_route_the_client_disables_one_proxy_after_another()
    {
        // A real Toxiproxy: its router answers 404 page not found for /disable; POST /proxies/{name} is the update.
        var requests = new List<string>();
        using var toxiproxy = new HttpClient(new RouterWithoutDisable(requests));
        using var client = new LinkClient(new Uri("http://127.0.0.1:8474/"), toxiproxy);

        var disabled = await client.DisableProxiesAsync(["a", "b"]);

        Assert.That(requests, Is.EqualTo(new[] { "POST /disable [\"a\",\"b\"]", "POST /proxies/a {\"enabled\":false}", "POST /proxies/b {\"enabled\":false}" }));
        Assert.That(disabled.Select(proxy => (proxy.Name, proxy.Enabled)), Is.EqualTo(new[] { ("a", false), ("b", false) }));
    }

    [Test]
    public async Task Deleting_a_proxy_removes_it()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("gone", "127.0.0.1:0", NowhereUpstream));

        await Client.DeleteProxyAsync("gone");

        Assert.That(await Client.GetProxiesAsync(), Is.Empty);
        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.DeleteProxyAsync("gone"));
        Assert.That(refusal!.StatusCode, Is.EqualTo(404));
    }

    [Test]
    public async Task Populating_creates_the_proxies_and_returns_them()
    {
        var created = await Client.PopulateAsync(
        [
            new LinkProxySpec("one", "127.0.0.1:0", NowhereUpstream),
            new LinkProxySpec("two", "127.0.0.1:0", "127.0.0.1:10", Enabled: false),
        ]);

        Assert.That(created.Select(p => p.Name), Is.EqualTo(new[] { "one", "two" }));
        Assert.That(created[0].Enabled, Is.True);
        Assert.That(IPEndPoint.Parse(created[0].Listen).Port, Is.GreaterThan(0));
        Assert.That(created[1].Enabled, Is.False);
        Assert.That((await Client.GetProxiesAsync()).Keys, Is.EquivalentTo(new[] { "one", "two" }));
    }

    [Test]
    public async Task Populating_nothing_returns_an_empty_list()
    {
        Assert.That(await Client.PopulateAsync([]), Is.Empty);
    }

    [Test]
    public async Task Populating_with_an_invalid_entry_throws_400_and_creates_nothing()
    {
        var refusal = Assert.ThrowsAsync<LinkApiException>(() => Client.PopulateAsync(
        [
            new LinkProxySpec("ok", "127.0.0.1:0", NowhereUpstream),
            new LinkProxySpec(string.Empty, "127.0.0.1:0", NowhereUpstream),
        ]));

        Assert.That(refusal!.StatusCode, Is.EqualTo(400));
        Assert.That(refusal.ApiMessage, Is.EqualTo("missing required field: name at proxy 2"));
        Assert.That(await Client.GetProxiesAsync(), Is.Empty);
    }

    [Test]
    public async Task Populating_an_identical_proxy_keeps_its_toxics()
    {
        var existing = await Client.CreateProxyAsync(new LinkProxySpec("same", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("same", ToxicSpec.Noop());

        await Client.PopulateAsync([new LinkProxySpec("same", existing.Listen, NowhereUpstream)]);

        Assert.That((await Client.GetToxicsAsync("same")).Select(t => t.Name), Is.EqualTo(new[] { "noop_downstream" }));
    }

    [Test]
    public async Task Reset_reenables_every_proxy_and_removes_every_toxic()
    {
        var created = await Client.CreateProxyAsync(new LinkProxySpec("r", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("r", ToxicSpec.Timeout(TimeSpan.FromSeconds(1)));
        await Client.AddToxicAsync("r", ToxicSpec.Bandwidth(10) with { Stream = "upstream" });
        await Client.DisableProxyAsync("r");

        await Client.ResetAsync();

        var proxy = await Client.GetProxyAsync("r");
        Assert.That(proxy.Enabled, Is.True);
        Assert.That(proxy.Listen, Is.EqualTo(created.Listen));
        Assert.That(proxy.Toxics, Is.Empty);
    }

    [Test]
    public async Task Every_toxic_factory_is_accepted_with_the_default_name_and_stream()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("t", "127.0.0.1:0", NowhereUpstream));
        var specs = new[]
        {
            ToxicSpec.Latency(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(10)),
            ToxicSpec.Bandwidth(64) with { Stream = "upstream" },
            ToxicSpec.SlowClose(TimeSpan.FromMilliseconds(200)) with { Stream = "upstream" },
            ToxicSpec.Timeout(TimeSpan.FromMilliseconds(300)),
            ToxicSpec.ResetPeer(TimeSpan.FromMilliseconds(400)) with { Name = "rst" },
            ToxicSpec.Slicer(100, 10, TimeSpan.FromMilliseconds(2)) with { Stream = "upstream", Name = "cut" },
            ToxicSpec.LimitData(4096) with { Name = "cap", Toxicity = 0.5 },
            ToxicSpec.Noop() with { Name = "nothing" },
        };

        var added = new List<LinkToxic>();
        foreach (var spec in specs)
        {
            added.Add(await Client.AddToxicAsync("t", spec));
        }

        Assert.That(added.Select(t => t.Name), Is.EqualTo(new[]
        {
            "latency_downstream", "bandwidth_upstream", "slow_close_upstream", "timeout_downstream", "rst", "cut", "cap", "nothing",
        }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(added[0].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 100, ["jitter"] = 10 }));
            Assert.That(added[1].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["rate"] = 64 }));
            Assert.That(added[2].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["delay"] = 200 }));
            Assert.That(added[3].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["timeout"] = 300 }));
            Assert.That(added[4].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["timeout"] = 400 }));
            Assert.That(added[5].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["average_size"] = 100, ["size_variation"] = 10, ["delay"] = 2000 }));
            Assert.That(added[6].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["bytes"] = 4096 }));
            Assert.That(added[6].Toxicity, Is.EqualTo(0.5));
            Assert.That(added[7].Attributes, Is.Empty);
            Assert.That(added[0].Stream, Is.EqualTo("downstream"));
            Assert.That(added[0].Toxicity, Is.EqualTo(1.0));
            Assert.That(added[5].Type, Is.EqualTo("slicer"));
        }

        var listed = await Client.GetToxicsAsync("t");
        Assert.That(listed.Select(t => t.Name), Is.EqualTo(new[]
        {
            "bandwidth_upstream", "slow_close_upstream", "cut", "latency_downstream", "timeout_downstream", "rst", "cap", "nothing",
        }));
    }

    [Test]
    public async Task Toxic_refusals_carry_the_status_and_message()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("t", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("t", ToxicSpec.Noop() with { Name = "taken" });

        var clash = Assert.ThrowsAsync<LinkApiException>(() => Client.AddToxicAsync("t", ToxicSpec.Latency(TimeSpan.Zero) with { Name = "taken", Stream = "upstream" }));
        var stream = Assert.ThrowsAsync<LinkApiException>(() => Client.AddToxicAsync("t", ToxicSpec.Noop() with { Stream = "sideways" }));
        var type = Assert.ThrowsAsync<LinkApiException>(() => Client.AddToxicAsync("t", new ToxicSpec("bogus", new Dictionary<string, long>())));
        var missing = Assert.ThrowsAsync<LinkApiException>(() => Client.GetToxicAsync("t", "ghost"));
        var update = Assert.ThrowsAsync<LinkApiException>(() => Client.UpdateToxicAsync("t", "ghost", new Dictionary<string, long>()));
        var remove = Assert.ThrowsAsync<LinkApiException>(() => Client.RemoveToxicAsync("t", "ghost"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That((clash!.StatusCode, clash.ApiMessage), Is.EqualTo((409, "toxic already exists")));
            Assert.That((stream!.StatusCode, stream.ApiMessage), Is.EqualTo((400, "stream was invalid, can be either upstream or downstream")));
            Assert.That((type!.StatusCode, type.ApiMessage), Is.EqualTo((400, "invalid toxic type")));
            Assert.That((missing!.StatusCode, missing.ApiMessage), Is.EqualTo((404, "toxic not found")));
            Assert.That((update!.StatusCode, update.ApiMessage), Is.EqualTo((404, "toxic not found")));
            Assert.That((remove!.StatusCode, remove.ApiMessage), Is.EqualTo((404, "toxic not found")));
        }
    }

    [Test]
    public async Task Updating_a_toxic_merges_attributes_and_keeps_toxicity_unless_given()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("t", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("t", ToxicSpec.Latency(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(10)) with { Toxicity = 0.25 });

        var merged = await Client.UpdateToxicAsync("t", "latency_downstream", new Dictionary<string, long> { ["jitter"] = 30 });

        Assert.That(merged.Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 100, ["jitter"] = 30 }));
        Assert.That(merged.Toxicity, Is.EqualTo(0.25));

        var retuned = await Client.UpdateToxicAsync("t", "latency_downstream", new Dictionary<string, long>(), toxicity: 0.75);

        Assert.That(retuned.Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 100, ["jitter"] = 30 }));
        Assert.That(retuned.Toxicity, Is.EqualTo(0.75));
        Assert.That(await Client.GetToxicAsync("t", "latency_downstream"), Is.EqualTo(retuned).Using<LinkToxic>(SameToxic));
    }

    [Test]
    public async Task Removing_a_toxic_leaves_the_others()
    {
        await Client.CreateProxyAsync(new LinkProxySpec("t", "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync("t", ToxicSpec.Noop() with { Name = "a" });
        await Client.AddToxicAsync("t", ToxicSpec.Noop() with { Name = "b" });

        await Client.RemoveToxicAsync("t", "a");

        Assert.That((await Client.GetToxicsAsync("t")).Select(t => t.Name), Is.EqualTo(new[] { "b" }));
    }

    [Test]
    public async Task Names_that_need_escaping_round_trip()
    {
        const string name = "eu west #1 & 50%";
        await Client.CreateProxyAsync(new LinkProxySpec(name, "127.0.0.1:0", NowhereUpstream));
        await Client.AddToxicAsync(name, ToxicSpec.Noop() with { Name = "lag?x=1" });

        var proxy = await Client.GetProxyAsync(name);
        var toxic = await Client.GetToxicAsync(name, "lag?x=1");
        await Client.RemoveToxicAsync(name, "lag?x=1");
        await Client.DeleteProxyAsync(name);

        Assert.That(proxy.Name, Is.EqualTo(name));
        Assert.That(toxic.Name, Is.EqualTo("lag?x=1"));
        Assert.That(await Client.GetProxiesAsync(), Is.Empty);
    }

    [Test]
    public async Task The_client_works_with_a_base_address_without_a_trailing_slash()
    {
        var address = new Uri(Links.Server.ApiAddress.AbsoluteUri.TrimEnd('/'));
        using var client = new LinkClient(address);

        Assert.That(client.BaseAddress.AbsoluteUri, Does.EndWith("/"));
        Assert.That(await client.GetVersionAsync(), Is.EqualTo("2.12.0"));
    }

    private static bool SameToxic(LinkToxic left, LinkToxic right) =>
        left.Name == right.Name && left.Type == right.Type && left.Stream == right.Stream
        && left.Toxicity.Equals(right.Toxicity)
        && left.Attributes.OrderBy(a => a.Key).SequenceEqual(right.Attributes.OrderBy(a => a.Key));

    /// <summary>Answers as Toxiproxy 2.12's router would: no /disable route; a proxy update echoes the proxy.</summary>
    private sealed class RouterWithoutDisable(List<string> requests) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            var path = request.RequestUri!.AbsolutePath;
            requests.Add($"{request.Method} {path} {body}");
            if (!path.StartsWith("/proxies/", StringComparison.Ordinal))
            {
                return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("404 page not found\n") };
            }

            var name = path["/proxies/".Length..];
            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent($$"""{"name":"{{name}}","listen":"127.0.0.1:0","upstream":"127.0.0.1:9","enabled":false,"toxics":[]}"""),
            };
        }
    }
}
