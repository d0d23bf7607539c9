namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>GET/POST /proxies/{p}/toxics and GET/PATCH/POST/DELETE /proxies/{p}/toxics/{t}.</summary>
[TestFixture]
internal sealed class ToxicApiTests : ApiTestBase
{
    private const string Toxics = "/proxies/p/toxics";

    [SetUp]
    public async Task CreateProxyPAsync() => await CreateProxyAsync("p");

    [Test]
    public async Task Listing_the_toxics_of_a_new_proxy_is_an_empty_array()
    {
        var response = await GetAsync(Toxics);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo("[]"));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
        }
    }

    [Test]
    public async Task Creating_a_toxic_is_200_not_201_with_the_defaults_filled_in()
    {
        var response = await PostAsync(Toxics, """{"type":"latency","attributes":{"latency":100}}""");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.ContentType, Is.EqualTo("application/json"));
            Assert.That(response.Body, Is.EqualTo(
                """{"attributes":{"latency":100,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}"""));
        }
    }

    [Test]
    public async Task Creating_a_toxic_keeps_the_given_name_stream_and_toxicity()
    {
        var response = await PostAsync(Toxics,
            """{"name":"slow","type":"latency","stream":"upstream","toxicity":0.5,"attributes":{"latency":10,"jitter":3}}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"latency":10,"jitter":3},"name":"slow","type":"latency","stream":"upstream","toxicity":0.5}"""));
        Assert.That((await GetAsync(Toxics + "/slow")).Body, Is.EqualTo(response.Body));
    }

    [Test]
    public async Task The_stream_is_echoed_as_sent_and_used_in_the_default_name()
    {
        var response = await PostAsync(Toxics, """{"type":"noop","stream":"UpStream"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo("""{"attributes":{},"name":"noop_UpStream","type":"noop","stream":"UpStream","toxicity":1}"""));
    }

    [TestCase("latency", """{"latency":1,"jitter":2}""")]
    [TestCase("bandwidth", """{"rate":3}""")]
    [TestCase("slow_close", """{"delay":4}""")]
    [TestCase("timeout", """{"timeout":5}""")]
    [TestCase("reset_peer", """{"timeout":6}""")]
    [TestCase("slicer", """{"average_size":7,"size_variation":8,"delay":9}""")]
    [TestCase("limit_data", """{"bytes":10}""")]
    [TestCase("noop", """{}""")]
    public async Task Every_toxic_type_is_accepted_with_its_attributes_in_Toxiproxy_order(string type, string attributes)
    {
        var response = await PostAsync(Toxics, $$"""{"type":"{{type}}","attributes":{{attributes}}}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            $$"""{"attributes":{{attributes}},"name":"{{type}}_downstream","type":"{{type}}","stream":"downstream","toxicity":1}"""));
    }

    [TestCase("latency", """{"latency":0,"jitter":0}""")]
    [TestCase("slicer", """{"average_size":0,"size_variation":0,"delay":0}""")]
    [TestCase("limit_data", """{"bytes":0}""")]
    public async Task Missing_attributes_are_zero(string type, string zeroes)
    {
        var response = await PostAsync(Toxics, $$"""{"type":"{{type}}"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Json.GetProperty("attributes").GetRawText(), Is.EqualTo(zeroes));
    }

    [Test]
    public async Task Unknown_attributes_are_ignored()
    {
        var response = await PostAsync(Toxics, """{"type":"bandwidth","attributes":{"rate":5,"burst":9}}""");

        Assert.That(response.Json.GetProperty("attributes").GetRawText(), Is.EqualTo("""{"rate":5}"""));
    }

    [Test]
    public async Task Toxics_are_listed_upstream_first_then_downstream_each_in_insertion_order()
    {
        await CreateToxicAsync("p", """{"name":"d1","type":"noop"}""");
        await CreateToxicAsync("p", """{"name":"u1","type":"noop","stream":"upstream"}""");
        await CreateToxicAsync("p", """{"name":"d2","type":"noop","stream":"downstream"}""");
        await CreateToxicAsync("p", """{"name":"u2","type":"noop","stream":"Upstream"}""");

        var names = (await GetAsync(Toxics)).Json.EnumerateArray().Select(t => t.GetProperty("name").GetString());
        var inProxy = (await GetAsync("/proxies/p")).Json.GetProperty("toxics").EnumerateArray().Select(t => t.GetProperty("name").GetString());

        Assert.That(names, Is.EqualTo(new[] { "u1", "u2", "d1", "d2" }));
        Assert.That(inProxy, Is.EqualTo(new[] { "u1", "u2", "d1", "d2" }));
    }

    [TestCase("sideways")]
    [TestCase("")]
    [TestCase("up")]
    [TestCase("both")]
    public async Task An_invalid_stream_is_400_stream_was_invalid(string stream)
    {
        var response = await PostAsync(Toxics, $$"""{"type":"latency","stream":"{{stream}}"}""");

        AssertApiError(response, 400, "stream was invalid, can be either upstream or downstream");
        Assert.That((await GetAsync(Toxics)).Body, Is.EqualTo("[]"));
    }

    [Test]
    public async Task A_null_stream_means_downstream()
    {
        var response = await PostAsync(Toxics, """{"type":"noop","stream":null,"toxicity":null}""");

        Assert.That(response.Body, Is.EqualTo("""{"attributes":{},"name":"noop_downstream","type":"noop","stream":"downstream","toxicity":1}"""));
    }

    [Test]
    public async Task The_stream_is_checked_before_the_type()
    {
        var response = await PostAsync(Toxics, """{"type":"bogus","stream":"sideways"}""");

        AssertApiError(response, 400, "stream was invalid, can be either upstream or downstream");
    }

    [TestCase("""{"type":"bogus"}""")]
    [TestCase("""{"type":"Latency"}""")]
    [TestCase("""{"type":""}""")]
    [TestCase("""{"attributes":{"latency":1}}""")]
    [TestCase("""{}""")]
    public async Task An_unknown_or_missing_type_is_400_invalid_toxic_type(string body)
    {
        var response = await PostAsync(Toxics, body);

        AssertApiError(response, 400, "invalid toxic type");
        Assert.That((await GetAsync(Toxics)).Body, Is.EqualTo("[]"));
    }

    [Test]
    public async Task The_type_is_checked_before_a_name_clash()
    {
        await CreateToxicAsync("p", """{"name":"taken","type":"noop"}""");

        var response = await PostAsync(Toxics, """{"name":"taken","type":"bogus"}""");

        AssertApiError(response, 400, "invalid toxic type");
    }

    [Test]
    public async Task A_taken_toxic_name_is_409_toxic_already_exists()
    {
        await CreateToxicAsync("p", """{"type":"latency","attributes":{"latency":1}}""");

        var response = await PostAsync(Toxics, """{"type":"latency","attributes":{"latency":2}}""");

        AssertApiError(response, 409, "toxic already exists");
        Assert.That((await GetAsync(Toxics + "/latency_downstream")).Json.GetProperty("attributes").GetProperty("latency").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_toxic_name_taken_in_the_other_stream_is_409_too()
    {
        await CreateToxicAsync("p", """{"name":"shared","type":"noop","stream":"upstream"}""");

        var response = await PostAsync(Toxics, """{"name":"shared","type":"latency","stream":"downstream"}""");

        AssertApiError(response, 409, "toxic already exists");
        Assert.That((await GetAsync(Toxics)).Json.GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_name_clash_is_reported_before_a_bad_attribute()
    {
        await CreateToxicAsync("p", """{"name":"x","type":"latency"}""");

        var response = await PostAsync(Toxics, """{"name":"x","type":"latency","attributes":{"latency":"slow"}}""");

        AssertApiError(response, 409, "toxic already exists");
    }

    [Test]
    public async Task Two_proxies_may_use_the_same_toxic_name()
    {
        await CreateProxyAsync("q");
        await CreateToxicAsync("p", """{"type":"noop"}""");

        var response = await PostAsync("/proxies/q/toxics", """{"type":"noop"}""");

        Assert.That(response.Status, Is.EqualTo(200));
    }

    [TestCase("""{"type":"latency","attributes":{"latency":"100"}}""")]
    [TestCase("""{"type":"latency","attributes":{"latency":1.5}}""")]
    [TestCase("""{"type":"latency","attributes":{"jitter":true}}""")]
    [TestCase("""{"type":"bandwidth","attributes":{"rate":[1]}}""")]
    [TestCase("""{"type":"limit_data","attributes":{"bytes":99999999999999999999}}""")]
    public async Task A_wrongly_typed_attribute_is_400_bad_request_body(string body)
    {
        var response = await PostAsync(Toxics, body);

        AssertBadRequestBody(response);
        Assert.That((await GetAsync(Toxics)).Body, Is.EqualTo("[]"));
    }

    [TestCase("""{"type":"latency","attributes":"latency"}""")]
    [TestCase("""{"type":"latency","attributes":[]}""")]
    [TestCase("""{"type":"latency","toxicity":"high"}""")]
    [TestCase("""{"type":"latency","name":7}""")]
    [TestCase("""{"type":5}""")]
    [TestCase("""{"type":"latency","stream":false}""")]
    public async Task A_wrongly_typed_field_is_400_bad_request_body(string body)
    {
        var response = await PostAsync(Toxics, body);

        AssertBadRequestBody(response);
    }

    [Test]
    public async Task A_decode_error_is_reported_before_an_invalid_stream()
    {
        var response = await PostAsync(Toxics, """{"type":"latency","stream":"sideways","toxicity":"high"}""");

        AssertBadRequestBody(response);
    }

    [TestCase("0", "0")]
    [TestCase("2.5", "2.5")]
    [TestCase("-1", "-1")]
    [TestCase("0.25", "0.25")]
    [TestCase("0.3", "0.3")]
    [TestCase("1.0", "1")]
    [TestCase("0.123456789", "0.12345679")]
    [TestCase("0.0000001", "1e-7")]
    [TestCase("0.00001", "0.00001")]
    [TestCase("1e21", "1e+21")]
    [TestCase("1e20", "100000000000000000000")]
    public async Task Toxicity_is_stored_as_given_and_printed_as_a_Go_float32(string given, string printed)
    {
        var response = await PostAsync(Toxics, $$"""{"type":"noop","toxicity":{{given}}}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo($$"""{"attributes":{},"name":"noop_downstream","type":"noop","stream":"downstream","toxicity":{{printed}}}"""));
    }

    [TestCase("1e400")]
    [TestCase("1e39")]
    [TestCase("-1e39")]
    public async Task A_toxicity_beyond_float32_is_400_bad_request_body(string toxicity)
    {
        var response = await PostAsync(Toxics, $$"""{"type":"noop","toxicity":{{toxicity}}}""");

        AssertBadRequestBody(response);
        Assert.That((await GetAsync(Toxics)).Body, Is.EqualTo("[]"));
    }

    [TestCase("GET", "/proxies/ghost/toxics")]
    [TestCase("POST", "/proxies/ghost/toxics")]
    [TestCase("GET", "/proxies/ghost/toxics/t")]
    [TestCase("PATCH", "/proxies/ghost/toxics/t")]
    [TestCase("POST", "/proxies/ghost/toxics/t")]
    [TestCase("DELETE", "/proxies/ghost/toxics/t")]
    public async Task A_toxic_route_on_an_unknown_proxy_is_404_proxy_not_found(string method, string path)
    {
        // The body is broken on purpose: the proxy is looked up first.
        var response = await SendAsync(new HttpMethod(method), path, method is "GET" or "DELETE" ? null : "{broken");

        AssertApiError(response, 404, "proxy not found");
    }

    [TestCase("GET")]
    [TestCase("PATCH")]
    [TestCase("POST")]
    [TestCase("DELETE")]
    public async Task An_unknown_toxic_is_404_toxic_not_found(string method)
    {
        var response = await SendAsync(new HttpMethod(method), Toxics + "/ghost", method is "GET" or "DELETE" ? null : "{broken");

        AssertApiError(response, 404, "toxic not found");
    }

    [Test]
    public async Task Getting_a_toxic_returns_it()
    {
        await CreateToxicAsync("p", """{"name":"cut","type":"limit_data","stream":"upstream","toxicity":0.75,"attributes":{"bytes":512}}""");

        var response = await GetAsync(Toxics + "/cut");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"bytes":512},"name":"cut","type":"limit_data","stream":"upstream","toxicity":0.75}"""));
    }

    [Test]
    public async Task Updating_a_toxic_merges_attributes_and_keeps_toxicity_when_omitted()
    {
        await CreateToxicAsync("p", """{"name":"lag","type":"latency","toxicity":0.5,"attributes":{"latency":100,"jitter":10}}""");

        var response = await PatchAsync(Toxics + "/lag", """{"attributes":{"jitter":20}}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"latency":100,"jitter":20},"name":"lag","type":"latency","stream":"downstream","toxicity":0.5}"""));
        Assert.That((await GetAsync(Toxics + "/lag")).Body, Is.EqualTo(response.Body));
    }

    [Test]
    public async Task Updating_a_toxic_with_an_explicit_toxicity_changes_it_and_keeps_attributes()
    {
        await CreateToxicAsync("p", """{"name":"lag","type":"latency","attributes":{"latency":100,"jitter":10}}""");

        var response = await PatchAsync(Toxics + "/lag", """{"toxicity":0}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"latency":100,"jitter":10},"name":"lag","type":"latency","stream":"downstream","toxicity":0}"""));
    }

    [Test]
    public async Task Updating_a_toxic_with_null_toxicity_keeps_it()
    {
        await CreateToxicAsync("p", """{"name":"t","type":"timeout","toxicity":0.2,"attributes":{"timeout":3}}""");

        var response = await PatchAsync(Toxics + "/t", """{"toxicity":null,"attributes":null}""");

        Assert.That(response.Body, Is.EqualTo("""{"attributes":{"timeout":3},"name":"t","type":"timeout","stream":"downstream","toxicity":0.2}"""));
    }

    [Test]
    public async Task Updating_a_toxic_ignores_name_type_and_stream()
    {
        await CreateToxicAsync("p", """{"name":"fixed","type":"bandwidth","attributes":{"rate":10}}""");

        var response = await PatchAsync(Toxics + "/fixed", """{"name":"other","type":"latency","stream":"upstream","attributes":{"rate":20,"latency":5}}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"rate":20},"name":"fixed","type":"bandwidth","stream":"downstream","toxicity":1}"""));
        Assert.That((await GetAsync(Toxics + "/other")).Status, Is.EqualTo(404));
    }

    [Test]
    public async Task POST_is_accepted_as_the_deprecated_alias_for_updating_a_toxic()
    {
        await CreateToxicAsync("p", """{"name":"slice","type":"slicer","attributes":{"average_size":10,"size_variation":2,"delay":5}}""");

        var response = await PostAsync(Toxics + "/slice", """{"attributes":{"delay":50},"toxicity":0.9}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(response.Body, Is.EqualTo(
            """{"attributes":{"average_size":10,"size_variation":2,"delay":50},"name":"slice","type":"slicer","stream":"downstream","toxicity":0.9}"""));
    }

    [TestCase("{broken")]
    [TestCase("")]
    [TestCase("""{"attributes":{"latency":"x"}}""")]
    [TestCase("""{"attributes":7}""")]
    [TestCase("""{"toxicity":"all"}""")]
    [TestCase("[]")]
    public async Task Updating_a_toxic_with_a_bad_body_is_400_and_changes_nothing(string body)
    {
        var created = await CreateToxicAsync("p", """{"name":"lag","type":"latency","attributes":{"latency":100}}""");

        var response = await PatchAsync(Toxics + "/lag", body);

        AssertBadRequestBody(response);
        Assert.That((await GetAsync(Toxics + "/lag")).Body, Is.EqualTo(created.GetRawText()));
    }

    [Test]
    public async Task Deleting_a_toxic_is_204_empty_and_it_is_gone()
    {
        await CreateToxicAsync("p", """{"name":"bye","type":"noop"}""");
        await CreateToxicAsync("p", """{"name":"stay","type":"noop"}""");

        var response = await DeleteAsync(Toxics + "/bye");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(204));
            Assert.That(response.Body, Is.Empty);
            Assert.That(response.ContentType, Is.Null);
        }

        AssertApiError(await GetAsync(Toxics + "/bye"), 404, "toxic not found");
        AssertApiError(await DeleteAsync(Toxics + "/bye"), 404, "toxic not found");
        Assert.That((await GetAsync(Toxics)).Json.EnumerateArray().Select(t => t.GetProperty("name").GetString()), Is.EqualTo(new[] { "stay" }));
    }

    [Test]
    public async Task A_deleted_toxic_name_can_be_used_again()
    {
        await CreateToxicAsync("p", """{"name":"again","type":"noop"}""");
        await DeleteAsync(Toxics + "/again");

        var response = await PostAsync(Toxics, """{"name":"again","type":"latency","stream":"upstream"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
    }

    [Test]
    public async Task Toxics_survive_disabling_the_proxy()
    {
        await CreateToxicAsync("p", """{"name":"kept","type":"noop"}""");

        await PatchAsync("/proxies/p", """{"enabled":false}""");

        Assert.That((await GetAsync(Toxics + "/kept")).Status, Is.EqualTo(200));
    }
}
