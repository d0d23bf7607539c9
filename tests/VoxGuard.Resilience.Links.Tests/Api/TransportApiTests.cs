namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>What gorilla/mux and net/http do around Toxiproxy's handlers: 404, 405, 403, 301, headers.</summary>
[TestFixture]
internal sealed class TransportApiTests : ApiTestBase
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    [Test]
    public async Task Version_is_the_exact_Toxiproxy_body_with_its_unspaced_content_type()
    {
        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "GET", "/version");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo("{\"version\": \"2.12.0\"}\n"));
            Assert.That(response.ContentType, Is.EqualTo("application/json;charset=utf-8"));
        }
    }

    [Test]
    public async Task Version_through_HttpClient_is_200_with_the_same_body()
    {
        // HttpClient re-formats Content-Type; the exact bytes are checked over a bare socket above.
        using var response = await Http.GetAsync(new Uri("version", UriKind.Relative));

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("{\"version\": \"2.12.0\"}\n"));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(response.Content.Headers.ContentType?.CharSet, Is.EqualTo("utf-8"));
        }
    }

    [Test]
    public async Task Matched_routes_carry_a_20_character_request_id()
    {
        var version = await GetAsync("/version");
        var notFound = await GetAsync("/proxies/missing");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(version.Header("X-Toxiproxy-Request-Id"), Has.Length.EqualTo(20));
            Assert.That(notFound.Header("X-Toxiproxy-Request-Id"), Has.Length.EqualTo(20));
            Assert.That(notFound.Header("X-Toxiproxy-Request-Id"), Is.Not.EqualTo(version.Header("X-Toxiproxy-Request-Id")));
        }
    }

    [TestCase("/nope")]
    [TestCase("/")]
    [TestCase("/proxies/")]
    [TestCase("/version/extra")]
    [TestCase("/proxies/p/toxics/t/extra")]
    [TestCase("/proxies/p/other")]
    [TestCase("/events")]
    [TestCase("/metrics")]
    public async Task An_unknown_route_is_404_page_not_found_as_plain_text(string path)
    {
        var response = await GetAsync(path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(404));
            Assert.That(response.Body, Is.EqualTo("404 page not found\n"));
            Assert.That(response.ContentType, Is.EqualTo(PlainText));
            Assert.That(response.Header("X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(response.Header("X-Toxiproxy-Request-Id"), Is.Null, "middleware runs only on matched routes");
        }
    }

    [TestCase("PUT", "/proxies")]
    [TestCase("DELETE", "/proxies")]
    [TestCase("GET", "/reset")]
    [TestCase("GET", "/populate")]
    [TestCase("POST", "/version")]
    [TestCase("HEAD", "/version")]
    [TestCase("OPTIONS", "/version")]
    [TestCase("PUT", "/proxies/p")]
    [TestCase("PUT", "/proxies/p/toxics")]
    [TestCase("DELETE", "/proxies/p/toxics")]
    [TestCase("PATCH", "/proxies/p/toxics")]
    [TestCase("PUT", "/proxies/p/toxics/t")]
    public async Task A_wrong_method_on_a_known_route_is_405_with_an_empty_body(string method, string path)
    {
        var response = await SendAsync(new HttpMethod(method), path, null);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(405));
            Assert.That(response.Body, Is.Empty);
            Assert.That(response.ContentType, Is.Null);
            Assert.That(response.Header("X-Toxiproxy-Request-Id"), Is.Null, "middleware runs only on matched routes");
        }
    }

    [Test]
    public async Task A_wrong_method_leaves_the_proxies_alone()
    {
        await CreateProxyAsync("kept");

        var response = await SendAsync(HttpMethod.Put, "/proxies/kept", ProxyBody("kept", "127.0.0.1:10", enabled: false));

        Assert.That(response.Status, Is.EqualTo(405));
        var proxy = (await GetAsync("/proxies/kept")).Json;
        Assert.That(proxy.GetProperty("enabled").GetBoolean(), Is.True);
        Assert.That(proxy.GetProperty("upstream").GetString(), Is.EqualTo(NowhereUpstream));
    }

    [TestCase("/version")]
    [TestCase("/proxies")]
    [TestCase("/proxies/missing")]
    public async Task A_browser_user_agent_is_403_user_agent_not_allowed(string path)
    {
        var response = await GetAsync(path, Firefox);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(403));
            Assert.That(response.Body, Is.EqualTo("User agent not allowed\n"));
            Assert.That(response.ContentType, Is.EqualTo(PlainText));
            Assert.That(response.Header("X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(response.Header("X-Toxiproxy-Request-Id"), Has.Length.EqualTo(20), "the request id runs before the browser check");
        }
    }

    [Test]
    public async Task A_browser_cannot_create_a_proxy()
    {
        var response = await SendAsync(HttpMethod.Post, "/proxies", ProxyBody("browser", NowhereUpstream), "Mozilla/5.0");

        Assert.That(response.Status, Is.EqualTo(403));
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task A_browser_on_an_unknown_route_still_gets_404()
    {
        var response = await GetAsync("/nope", Firefox);

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(response.Body, Is.EqualTo("404 page not found\n"));
    }

    [Test]
    public async Task A_browser_with_a_wrong_method_still_gets_405()
    {
        var response = await SendAsync(HttpMethod.Get, "/reset", null, Firefox);

        Assert.That(response.Status, Is.EqualTo(405));
        Assert.That(response.Body, Is.Empty);
    }

    [TestCase("toxiproxy-cli")]
    [TestCase("toxiproxy-cli/2.12.0 linux/amd64")]
    [TestCase("curl/8.5.0")]
    [TestCase("mozilla/5.0")]
    [TestCase("Mozilla")]
    [TestCase("Go-http-client/1.1")]
    public async Task Any_other_user_agent_is_allowed(string userAgent)
    {
        var response = await GetAsync("/version", userAgent);

        Assert.That(response.Status, Is.EqualTo(200));
    }

    [Test]
    public async Task No_user_agent_at_all_is_allowed()
    {
        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "GET", "/proxies");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task An_error_body_is_exact_json_and_a_newline_typed_as_plain_text()
    {
        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "GET", "/proxies/missing");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(404));
            Assert.That(response.Body, Is.EqualTo("{\"error\":\"proxy not found\",\"status\":404}\n"));
            Assert.That(response.ContentType, Is.EqualTo(PlainText));
            Assert.That(response.Header("X-Content-Type-Options"), Is.EqualTo("nosniff"));
        }
    }

    [Test]
    public async Task A_success_body_is_json_without_a_trailing_newline()
    {
        await CreateProxyAsync("plain");

        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "GET", "/proxies/plain");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Body, Does.StartWith("{\"name\":\"plain\",").And.EndWith("}"));
            Assert.That(response.Header("X-Content-Type-Options"), Is.Null);
        }
    }

    [TestCase("//proxies", "/proxies")]
    [TestCase("/proxies//", "/proxies/")]
    [TestCase("/proxies/../version", "/version")]
    [TestCase("/./version", "/version")]
    [TestCase("/proxies/p/toxics/../../../reset", "/reset")]
    [TestCase("/../version", "/version")]
    [TestCase("//version?x=1", "/version?x=1")]
    public async Task A_path_that_is_not_clean_is_redirected_301_to_the_clean_path(string target, string location)
    {
        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "GET", target);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(301));
            Assert.That(response.Header("Location"), Is.EqualTo(location));
            Assert.That(response.Body, Is.Empty);
        }
    }

    [Test]
    public async Task A_redirected_post_does_not_run_its_handler()
    {
        var response = await RawHttp.SendAsync(Links.Server.ApiAddress, "POST", "/proxies/../reset");

        Assert.That(response.Status, Is.EqualTo(301));
        Assert.That(response.Header("Location"), Is.EqualTo("/reset"));
    }

    [Test]
    public async Task A_percent_encoded_proxy_name_is_matched_decoded()
    {
        await CreateProxyAsync("my proxy");

        var response = await GetAsync("/proxies/my%20proxy");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Json.GetProperty("name").GetString(), Is.EqualTo("my proxy"));
    }
}
