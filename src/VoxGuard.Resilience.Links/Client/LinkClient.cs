using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace VoxGuard.Resilience.Links.Client;

/// <summary>
/// A typed client for the Toxiproxy HTTP API v2. It speaks only what Toxiproxy documents,
/// so it works unchanged against the embedded <see cref="LinkServer"/> and a real Toxiproxy.
/// </summary>
public sealed class LinkClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    public LinkClient(Uri apiAddress, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(apiAddress);
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        BaseAddress = apiAddress.AbsoluteUri.EndsWith('/') ? apiAddress : new Uri(apiAddress.AbsoluteUri + "/");
    }

    public Uri BaseAddress { get; }

    public async Task<string> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, "version", null, cancellationToken).ConfigureAwait(false);
        // Toxiproxy before 2.6 answered with the bare version text.
        return body.TrimStart().StartsWith('{') ? Parse(body).GetProperty("version").GetString()! : body.Trim();
    }

    public async Task<IReadOnlyDictionary<string, LinkProxy>> GetProxiesAsync(CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, "proxies", null, cancellationToken).ConfigureAwait(false);
        return Parse(body).EnumerateObject().ToDictionary(entry => entry.Name, entry => LinkProxy.FromJson(entry.Value), StringComparer.Ordinal);
    }

    public async Task<LinkProxy> CreateProxyAsync(LinkProxySpec proxy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var body = await SendAsync(HttpMethod.Post, "proxies", ProxyJson(proxy), cancellationToken).ConfigureAwait(false);
        return LinkProxy.FromJson(Parse(body));
    }

    /// <summary>Creates or replaces several proxies at once; an identical existing proxy is kept.</summary>
    public async Task<IReadOnlyList<LinkProxy>> PopulateAsync(IEnumerable<LinkProxySpec> proxies, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(proxies);
        var array = new StringBuilder("[");
        array.AppendJoin(',', proxies.Select(ProxyJson));
        array.Append(']');
        var body = await SendAsync(HttpMethod.Post, "populate", array.ToString(), cancellationToken).ConfigureAwait(false);
        // Toxiproxy answers "proxies": null when nothing was created.
        var created = Parse(body).GetProperty("proxies");
        return created.ValueKind == JsonValueKind.Array ? created.EnumerateArray().Select(LinkProxy.FromJson).ToArray() : [];
    }

    /// <summary>Enables every proxy and removes every toxic.</summary>
    public Task ResetAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "reset", null, cancellationToken);

    public async Task<LinkProxy> GetProxyAsync(string name, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, ProxyPath(name), null, cancellationToken).ConfigureAwait(false);
        return LinkProxy.FromJson(Parse(body));
    }

    public async Task<LinkProxy> UpdateProxyAsync(string name, LinkProxyUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var fields = new Dictionary<string, object>();
        if (update.Listen is not null)
        {
            fields["listen"] = update.Listen;
        }

        if (update.Upstream is not null)
        {
            fields["upstream"] = update.Upstream;
        }

        if (update.Enabled is not null)
        {
            fields["enabled"] = update.Enabled.Value;
        }

        // POST, as Toxiproxy's own Go client sends it: every 2.x server accepts it (PATCH only from 2.6).
        var body = await SendAsync(HttpMethod.Post, ProxyPath(name), JsonSerializer.Serialize(fields), cancellationToken).ConfigureAwait(false);
        return LinkProxy.FromJson(Parse(body));
    }

    /// <summary>Closes the proxy's listener and every live connection through it.</summary>
    public Task<LinkProxy> DisableProxyAsync(string name, CancellationToken cancellationToken = default) =>
        UpdateProxyAsync(name, new LinkProxyUpdate(Enabled: false), cancellationToken);

    public Task<LinkProxy> EnableProxyAsync(string name, CancellationToken cancellationToken = default) =>
        UpdateProxyAsync(name, new LinkProxyUpdate(Enabled: true), cancellationToken);

    /// <summary>
    /// Disables every named proxy in one request, so that they all stop carrying bytes in the same instant (this link
    /// server's <c>/disable</c>). Against a real Toxiproxy, which has no such route, one request per proxy.
    /// </summary>
    public Task<IReadOnlyList<LinkProxy>> DisableProxiesAsync(IEnumerable<string> names, CancellationToken cancellationToken = default) =>
        SetEnabledAsync(names, enabled: false, cancellationToken);

    /// <summary>Enables every named proxy in one request (<c>/enable</c>; one request per proxy against a real Toxiproxy).</summary>
    public Task<IReadOnlyList<LinkProxy>> EnableProxiesAsync(IEnumerable<string> names, CancellationToken cancellationToken = default) =>
        SetEnabledAsync(names, enabled: true, cancellationToken);

    public Task DeleteProxyAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, ProxyPath(name), null, cancellationToken);

    public async Task<IReadOnlyList<LinkToxic>> GetToxicsAsync(string proxy, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, ProxyPath(proxy) + "/toxics", null, cancellationToken).ConfigureAwait(false);
        return Parse(body).EnumerateArray().Select(LinkToxic.FromJson).ToArray();
    }

    public async Task<LinkToxic> AddToxicAsync(string proxy, ToxicSpec toxic, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toxic);
        var fields = new Dictionary<string, object>
        {
            ["type"] = toxic.Type,
            ["stream"] = toxic.Stream,
            ["toxicity"] = toxic.Toxicity,
            ["attributes"] = toxic.Attributes,
        };
        if (toxic.Name is not null)
        {
            fields["name"] = toxic.Name;
        }

        var body = await SendAsync(HttpMethod.Post, ProxyPath(proxy) + "/toxics", JsonSerializer.Serialize(fields), cancellationToken).ConfigureAwait(false);
        return LinkToxic.FromJson(Parse(body));
    }

    public async Task<LinkToxic> GetToxicAsync(string proxy, string toxic, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, ToxicPath(proxy, toxic), null, cancellationToken).ConfigureAwait(false);
        return LinkToxic.FromJson(Parse(body));
    }

    /// <summary>Merges <paramref name="attributes"/> into the toxic's; keeps its toxicity unless one is given.</summary>
    public async Task<LinkToxic> UpdateToxicAsync(
        string proxy, string toxic, IReadOnlyDictionary<string, long> attributes, double? toxicity = null, CancellationToken cancellationToken = default)
    {
        var fields = new Dictionary<string, object> { ["attributes"] = attributes };
        if (toxicity is not null)
        {
            fields["toxicity"] = toxicity.Value;
        }

        // PATCH, as Toxiproxy's own Go client sends it (POST is the deprecated alias).
        var body = await SendAsync(HttpMethod.Patch, ToxicPath(proxy, toxic), JsonSerializer.Serialize(fields), cancellationToken).ConfigureAwait(false);
        return LinkToxic.FromJson(Parse(body));
    }

    public Task RemoveToxicAsync(string proxy, string toxic, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, ToxicPath(proxy, toxic), null, cancellationToken);

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<IReadOnlyList<LinkProxy>> SetEnabledAsync(IEnumerable<string> names, bool enabled, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        var list = names.ToList();
        try
        {
            var body = await SendAsync(HttpMethod.Post, enabled ? "enable" : "disable", JsonSerializer.Serialize(list), cancellationToken).ConfigureAwait(false);
            return [.. Parse(body).GetProperty("proxies").EnumerateArray().Select(LinkProxy.FromJson)];
        }
        catch (LinkApiException exception) when (exception.StatusCode == 404 && exception.ApiMessage.StartsWith("404 page not found", StringComparison.Ordinal))
        {
            // Toxiproxy's router: no such route. The same change, one proxy after another.
            var changed = new List<LinkProxy>();
            foreach (var name in list)
            {
                changed.Add(await UpdateProxyAsync(name, new LinkProxyUpdate(Enabled: enabled), cancellationToken).ConfigureAwait(false));
            }

            return changed;
        }
    }

    private static string ProxyPath(string name) => "proxies/" + Uri.EscapeDataString(name);

    private static string ToxicPath(string proxy, string toxic) => ProxyPath(proxy) + "/toxics/" + Uri.EscapeDataString(toxic);

    private static string ProxyJson(LinkProxySpec proxy)
    {
        var json = new Dictionary<string, object>
        {
            ["name"] = proxy.Name,
            ["listen"] = proxy.Listen,
            ["upstream"] = proxy.Upstream,
            ["enabled"] = proxy.Enabled,
        };
        if (proxy.Protocol != "tcp")
        {
            // Only a UDP link names its protocol: a TCP one is a plain Toxiproxy request.
            json["protocol"] = proxy.Protocol;
        }

        return JsonSerializer.Serialize(json);
    }

    private static JsonElement Parse(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private async Task<string> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = JsonMediaType;
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new LinkApiException((int)response.StatusCode, ErrorMessageOf(body), $"{method} /{path}");
        }

        return body;
    }

    private static string ErrorMessageOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not JSON (e.g. a plain-text 404 from a router): the text is the message.
        }

        return body.Trim();
    }
}
