using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>Malformed, odd and hostile requests: a clear refusal, and the server keeps answering.</summary>
[TestFixture]
internal sealed class RobustnessApiTests : ApiTestBase
{
    [TestCase("POST", "/proxies", "{broken")]
    [TestCase("POST", "/proxies", "{\"name\" \"x\"}")]
    [TestCase("POST", "/proxies", "nonsense")]
    [TestCase("POST", "/proxies", "}")]
    [TestCase("POST", "/proxies/p/toxics", "{\"type\":")]
    [TestCase("PATCH", "/proxies/p", "{\"enabled\":tru}")]
    [TestCase("PATCH", "/proxies/p/toxics/t", "{\"attributes\":{,}}")]
    [TestCase("POST", "/populate", "[{]")]
    public async Task Broken_json_is_400_bad_request_body_and_the_server_keeps_answering(string method, string path, string body)
    {
        await CreateProxyAsync("p");
        await CreateToxicAsync("p", """{"name":"t","type":"noop"}""");

        var response = await SendAsync(new HttpMethod(method), path, body);

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.Body, Does.Contain("\"error\":\"bad request body: "));
        await AssertServerStillAnswersAsync();
    }

    [TestCase("{")]
    [TestCase("{\"name\":\"a\"")]
    [TestCase("{\"name\":")]
    [TestCase("{\"name\":\"unterminated")]
    [TestCase("[")]
    public async Task Truncated_json_is_400_bad_request_body_unexpected_EOF(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertApiError(response, 400, "bad request body: unexpected EOF");
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("\r\n\t ")]
    public async Task An_empty_or_blank_body_is_400_bad_request_body_EOF(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertApiError(response, 400, "bad request body: EOF");
    }

    [TestCase("""{"name":5,"upstream":"127.0.0.1:9"}""")]
    [TestCase("""{"name":"x","upstream":["127.0.0.1:9"]}""")]
    [TestCase("""{"name":"x","upstream":"127.0.0.1:9","enabled":"yes"}""")]
    [TestCase("""{"name":"x","upstream":"127.0.0.1:9","enabled":1}""")]
    [TestCase("""{"name":"x","upstream":"127.0.0.1:9","listen":{"port":0}}""")]
    [TestCase("""{"name":{},"upstream":"127.0.0.1:9"}""")]
    public async Task Wrong_json_types_are_400_bad_request_body_and_create_nothing(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertBadRequestBody(response);
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
        await AssertServerStillAnswersAsync();
    }

    [Test]
    public async Task A_type_error_wins_over_a_missing_name()
    {
        var response = await PostAsync("/proxies", """{"upstream":"127.0.0.1:9","enabled":"yes"}""");

        AssertBadRequestBody(response);
    }

    [TestCase("POST", "/proxies")]
    [TestCase("POST", "/proxies/p/toxics")]
    [TestCase("PATCH", "/proxies/p")]
    [TestCase("POST", "/proxies/p")]
    [TestCase("PATCH", "/proxies/p/toxics/t")]
    public async Task A_json_array_where_an_object_is_expected_is_400_bad_request_body(string method, string path)
    {
        await CreateProxyAsync("p");
        await CreateToxicAsync("p", """{"name":"t","type":"noop"}""");

        var response = await SendAsync(new HttpMethod(method), path, """[{"name":"x","upstream":"127.0.0.1:9","type":"noop"}]""");

        AssertBadRequestBody(response);
        Assert.That((await GetAsync("/proxies")).Json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "p" }));
        await AssertServerStillAnswersAsync();
    }

    [TestCase("\"a string\"")]
    [TestCase("42")]
    [TestCase("true")]
    public async Task A_json_scalar_where_an_object_is_expected_is_400_bad_request_body(string body)
    {
        var response = await PostAsync("/proxies", body);

        AssertBadRequestBody(response);
    }

    [Test]
    public async Task A_json_null_body_decodes_to_nothing_as_in_Go()
    {
        await CreateProxyAsync("p");
        await CreateToxicAsync("p", """{"name":"t","type":"noop"}""");

        AssertApiError(await PostAsync("/proxies", "null"), 400, "missing required field: name");
        AssertApiError(await PostAsync("/proxies/p/toxics", "null"), 400, "invalid toxic type");
        Assert.That((await PatchAsync("/proxies/p", "null")).Status, Is.EqualTo(200));
        Assert.That((await PatchAsync("/proxies/p/toxics/t", "null")).Status, Is.EqualTo(200));
        var populate = await PostAsync("/populate", "null");
        Assert.That(populate.Status, Is.EqualTo(201));
        Assert.That(populate.Body, Is.EqualTo("""{"proxies":null}"""));
    }

    [Test]
    public async Task A_body_over_one_MiB_is_refused_and_the_server_keeps_answering()
    {
        var padding = new string('x', 2 * 1024 * 1024);
        var body = $$"""{"name":"huge","upstream":"127.0.0.1:9","padding":"{{padding}}"}""";

        var response = await PostAsync("/proxies", body);

        AssertApiError(response, 413, "request body too large");
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
        await AssertServerStillAnswersAsync();
    }

    [Test]
    public async Task A_body_just_under_one_MiB_is_decoded()
    {
        var padding = new string('x', 1024 * 1024 - 200);
        var body = $$"""{"name":"big","upstream":"127.0.0.1:9","padding":"{{padding}}"}""";

        var response = await PostAsync("/proxies", body);

        Assert.That(response.Status, Is.EqualTo(201), response.Body[..Math.Min(200, response.Body.Length)]);
    }

    [TestCase("GARBAGE\r\n\r\n")]
    [TestCase("\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003")]
    [TestCase("GET /version HTTP/9.9\r\n\r\n")]
    [TestCase("\0\0\0\0\0\0\0\0\r\n\r\n")]
    [TestCase("POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")]
    [TestCase("POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n")]
    public async Task Raw_bytes_that_are_not_http_do_not_take_the_server_down(string garbage)
    {
        var answer = await RawHttp.ExchangeAsync(Links.Server.ApiAddress.Port, Encoding.Latin1.GetBytes(garbage));

        Assert.That(Encoding.Latin1.GetString(answer), Does.Not.Contain("HTTP/1.1 2"), "garbage is never a success");
        await AssertServerStillAnswersAsync();
    }

    [Test]
    public async Task Random_binary_noise_does_not_take_the_server_down()
    {
        var noise = new byte[64 * 1024];
        new Random(7).NextBytes(noise);

        await RawHttp.ExchangeAsync(Links.Server.ApiAddress.Port, noise);

        await AssertServerStillAnswersAsync();
    }

    [Test]
    public async Task A_client_that_hangs_up_mid_body_does_not_take_the_server_down()
    {
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Links.Server.ApiAddress.Port));
            await socket.SendAsync(Encoding.ASCII.GetBytes("POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"name\":"));
        }

        await AssertServerStillAnswersAsync();
        Assert.That((await GetAsync("/proxies")).Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Invalid_utf8_in_a_string_is_not_a_server_error()
    {
        byte[] body = [.. "{\"name\":\"bad-"u8, 0xFF, 0xFE, .. "\",\"upstream\":\"127.0.0.1:9\"}"u8];

        var response = await SendBytesAsync(HttpMethod.Post, "/proxies", body);

        Assert.That(response.Status, Is.EqualTo(201), "Go replaces invalid UTF-8 with U+FFFD and carries on");
        Assert.That(response.Json.GetProperty("name").GetString(), Does.StartWith("bad-\uFFFD"));
        await AssertServerStillAnswersAsync();
    }

    [Test]
    public async Task Invalid_utf8_in_an_unknown_field_name_is_ignored()
    {
        byte[] body = [.. "{\""u8, 0xFF, .. "\":1,\"name\":\"ok\",\"upstream\":\"127.0.0.1:9\"}"u8];

        var response = await SendBytesAsync(HttpMethod.Post, "/proxies", body);

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("listen").GetString(), Does.StartWith("127.0.0.1:"));
    }

    [Test]
    public async Task Unknown_json_fields_are_ignored()
    {
        var response = await PostAsync("/proxies",
            """{"name":"extra","upstream":"127.0.0.1:9","listen":"127.0.0.1:0","colour":"blue","nested":{"deep":[1,2,{"x":null}]},"toxics":"ignored"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("toxics").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Field_names_match_case_insensitively()
    {
        var response = await PostAsync("/proxies", """{"NAME":"loud","Upstream":"127.0.0.1:9","LISTEN":"127.0.0.1:0","Enabled":false}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Is.EqualTo("""{"name":"loud","listen":"127.0.0.1:0","upstream":"127.0.0.1:9","enabled":false,"toxics":[]}"""));

        var toxic = await PostAsync("/proxies/loud/toxics", """{"Type":"latency","STREAM":"upstream","Toxicity":0.5,"Attributes":{"Latency":9,"JITTER":1}}""");

        Assert.That(toxic.Status, Is.EqualTo(200), toxic.Body);
        Assert.That(toxic.Body, Is.EqualTo("""{"attributes":{"latency":9,"jitter":1},"name":"latency_upstream","type":"latency","stream":"upstream","toxicity":0.5}"""));
    }

    [Test]
    public async Task An_exact_field_name_wins_over_a_differently_cased_one()
    {
        var response = await PostAsync("/proxies", """{"Name":"other","name":"exact","upstream":"127.0.0.1:9"}""");

        Assert.That(response.Json.GetProperty("name").GetString(), Is.EqualTo("exact"));
    }

    [Test]
    public async Task Bytes_after_the_first_json_value_are_ignored()
    {
        var response = await PostAsync("/proxies", """{"name":"first","upstream":"127.0.0.1:9"} trailing garbage {"name":"second"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Json.GetProperty("name").GetString(), Is.EqualTo("first"));
    }

    [Test]
    public async Task Enabled_null_means_enabled()
    {
        var response = await PostAsync("/proxies", """{"name":"n","upstream":"127.0.0.1:9","enabled":null}""");

        Assert.That(response.Json.GetProperty("enabled").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Json_escapes_are_decoded_in_input_and_Go_escapes_are_used_in_output()
    {
        var response = await PostAsync("/proxies", """{"n\u0061me":"tab\there\u2028<","upstream":"127.0.0.1:9"}""");

        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        Assert.That(response.Body, Does.StartWith("""{"name":"tab\there\u2028\u003c","""));
    }

    [Test]
    public async Task Many_concurrent_requests_are_all_answered()
    {
        var creates = Enumerable.Range(0, 20).Select(i => PostAsync("/proxies", ProxyBody($"c{i:00}", NowhereUpstream)));
        var responses = await Task.WhenAll(creates);

        Assert.That(responses.Select(r => r.Status), Is.All.EqualTo(201));
        Assert.That((await GetAsync("/proxies")).Json.EnumerateObject().Count(), Is.EqualTo(20));
        Assert.That(responses.Select(r => PortOf(r.Json)).Distinct().Count(), Is.EqualTo(20));
    }
}

/// <summary>Disposal: after a link server is disposed, nothing of it keeps listening.</summary>
[TestFixture]
internal sealed class LinkServerDisposalTests
{
    [Test]
    public async Task Disposing_the_server_refuses_its_api_port_and_every_proxy_port()
    {
        var links = await LinkServerFixture.StartAsync();
        await using var upstream = new EchoServer();
        var apiPort = links.Server.ApiAddress.Port;
        var enabled = await links.ProxyAsync("on", upstream.Address);
        var toggled = await links.ProxyAsync("toggled", upstream.Address);
        await links.Client.DisableProxyAsync("toggled");
        await links.Client.EnableProxyAsync("toggled");
        using var live = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await live.ConnectAsync(enabled);
        await live.SendAsync("hi"u8.ToArray());
        Assert.That(await live.ReceiveAsync(new byte[8]), Is.EqualTo(2));

        await links.DisposeAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await RefusesAsync(apiPort), Is.True, "the API port");
            Assert.That(await RefusesAsync(enabled.Port), Is.True, "an enabled proxy's port");
            Assert.That(await RefusesAsync(toggled.Port), Is.True, "a re-enabled proxy's port");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int read;
        try
        {
            read = await live.ReceiveAsync(new byte[8], SocketFlags.None, timeout.Token);
        }
        catch (SocketException)
        {
            read = 0;
        }

        Assert.That(read, Is.Zero, "a live connection through a proxy is closed");
    }

    [Test]
    public async Task Disposing_twice_is_harmless()
    {
        var links = await LinkServerFixture.StartAsync();
        var port = links.Server.ApiAddress.Port;

        await links.Server.DisposeAsync();
        await links.DisposeAsync();

        Assert.That(await RefusesAsync(port), Is.True);
    }

    private static async Task<bool> RefusesAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            return false;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }
}
