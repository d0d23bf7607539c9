using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Api;

/// <summary>One HTTP response as the wire carried it: status, body text and raw header values.</summary>
internal sealed record ApiResponse(int Status, string Body, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The Content-Type exactly as sent, or null when there was none.</summary>
    public string? ContentType => Header("Content-Type");

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
    }

    /// <summary>The "error" text of an error body.</summary>
    public string Error => Json.GetProperty("error").GetString()!;
}

/// <summary>
/// One link server per fixture (fast), emptied before every test. Raw requests go through
/// <see cref="HttpClient"/> (no User-Agent unless given) or, for byte-exact checks, a bare socket.
/// </summary>
internal abstract class ApiTestBase
{
    /// <summary>An upstream that is never dialled unless a test connects through the proxy.</summary>
    protected const string NowhereUpstream = "127.0.0.1:9";

    protected const string PlainText = "text/plain; charset=utf-8";

    private LinkServerFixture? _links;
    private HttpClient? _http;

    protected LinkServerFixture Links => _links ?? throw new InvalidOperationException("The link server is not started.");

    protected HttpClient Http => _http ?? throw new InvalidOperationException("The link server is not started.");

    [OneTimeSetUp]
    public async Task StartLinkServerAsync()
    {
        _links = await LinkServerFixture.StartAsync();
        _http = NewHttpClient(_links.Server.ApiAddress);
    }

    [OneTimeTearDown]
    public async Task StopLinkServerAsync()
    {
        _http?.Dispose();
        if (_links is not null)
        {
            await _links.DisposeAsync();
        }
    }

    [SetUp]
    public async Task RemoveEveryProxyAsync()
    {
        foreach (var name in (await Links.Client.GetProxiesAsync()).Keys)
        {
            await Links.Client.DeleteProxyAsync(name);
        }
    }

    protected static HttpClient NewHttpClient(Uri apiAddress) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false })
        {
            BaseAddress = apiAddress,
            Timeout = TimeSpan.FromSeconds(10),
        };

    protected Task<ApiResponse> GetAsync(string path, string? userAgent = null) => SendAsync(HttpMethod.Get, path, null, userAgent);

    protected Task<ApiResponse> PostAsync(string path, string? body = null) => SendAsync(HttpMethod.Post, path, body);

    protected Task<ApiResponse> PatchAsync(string path, string? body) => SendAsync(HttpMethod.Patch, path, body);

    protected Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    protected Task<ApiResponse> SendAsync(HttpMethod method, string path, string? body, string? userAgent = null) =>
        SendBytesAsync(method, path, body is null ? null : Encoding.UTF8.GetBytes(body), userAgent);

    protected async Task<ApiResponse> SendBytesAsync(HttpMethod method, string path, byte[]? body, string? userAgent = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path.TrimStart('/'), UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
        {
            headers[header.Key] = header.Value.ToString();
        }

        return new ApiResponse((int)response.StatusCode, text, headers);
    }

    /// <summary>Creates a proxy through the raw API and returns its JSON; fails the test unless 201.</summary>
    protected async Task<JsonElement> CreateProxyAsync(string name, string upstream = NowhereUpstream, string listen = "127.0.0.1:0", bool enabled = true)
    {
        var response = await PostAsync("/proxies", ProxyBody(name, upstream, listen, enabled));
        Assert.That(response.Status, Is.EqualTo(201), response.Body);
        return response.Json;
    }

    protected async Task<JsonElement> CreateToxicAsync(string proxy, string body)
    {
        var response = await PostAsync($"/proxies/{proxy}/toxics", body);
        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        return response.Json;
    }

    protected static string ProxyBody(string name, string upstream, string listen = "127.0.0.1:0", bool enabled = true) =>
        JsonSerializer.Serialize(new { name, listen, upstream, enabled });

    /// <summary>Toxiproxy's apiError: exact JSON, a newline, typed as plain text by Go's http.Error.</summary>
    protected static void AssertApiError(ApiResponse response, int status, string message)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(status), response.Body);
            Assert.That(response.Body, Is.EqualTo($"{{\"error\":\"{message}\",\"status\":{status}}}\n"));
            Assert.That(response.ContentType, Is.EqualTo(PlainText));
            Assert.That(response.Header("X-Content-Type-Options"), Is.EqualTo("nosniff"));
        }
    }

    /// <summary>A 400 "bad request body: …" whose detail is the decoder's own text.</summary>
    protected static void AssertBadRequestBody(ApiResponse response, string? detail = null)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(400), response.Body);
            Assert.That(response.ContentType, Is.EqualTo(PlainText));
            Assert.That(response.Body, Does.StartWith("{\"error\":\"bad request body: ").And.EndWith("\",\"status\":400}\n"));
        }

        if (detail is not null)
        {
            Assert.That(response.Error, Is.EqualTo("bad request body: " + detail));
        }
    }

    protected async Task AssertServerStillAnswersAsync()
    {
        var version = await GetAsync("/version");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(version.Status, Is.EqualTo(200));
            Assert.That(version.Body, Is.EqualTo("{\"version\": \"2.12.0\"}\n"));
        }
    }

    /// <summary>A loopback port held by the test itself (bound and listening, no address reuse).</summary>
    protected static Socket TakeLoopbackPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(1);
        return socket;
    }

    protected static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    protected static int PortOf(JsonElement proxy) => IPEndPoint.Parse(proxy.GetProperty("listen").GetString()!).Port;

    /// <summary>True when a TCP connect to 127.0.0.1:<paramref name="port"/> succeeds; false when it is refused.</summary>
    protected static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            return true;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
    }

    /// <summary>Connects through a proxy and reads what a source upstream sends until it closes (5 s at most).</summary>
    protected static async Task<string> ReadThroughAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // Reset by the proxy: whatever arrived before counts.
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }
}

/// <summary>HTTP/1.0 over a bare loopback socket: the exact bytes, with no client-side normalisation.</summary>
internal static class RawHttp
{
    public static async Task<ApiResponse> SendAsync(Uri api, string method, string target, string? userAgent = null)
    {
        var head = new StringBuilder()
            .Append(method).Append(' ').Append(target).Append(" HTTP/1.0\r\n")
            .Append("Host: 127.0.0.1:").Append(api.Port).Append("\r\n");
        if (userAgent is not null)
        {
            head.Append("User-Agent: ").Append(userAgent).Append("\r\n");
        }

        if (method is "POST" or "PATCH" or "PUT")
        {
            head.Append("Content-Length: 0\r\n");
        }

        var raw = await ExchangeAsync(api.Port, Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()));
        var text = Encoding.UTF8.GetString(raw);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.That(end, Is.GreaterThan(0), $"not an HTTP response: {text}");
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        return new ApiResponse(status, text[(end + 4)..], headers);
    }

    /// <summary>Sends <paramref name="request"/> and returns everything the server sends until it closes.</summary>
    public static async Task<byte[]> ExchangeAsync(int port, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
        {
            // The server may reset after answering garbage; what it sent first still counts.
        }

        return received.ToArray();
    }
}
