using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using VoxGuard.Resilience.Links.Proxies;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>
/// The Toxiproxy HTTP API v2, route by route, with Toxiproxy's status codes and messages,
/// so that any Toxiproxy client can drive this server.
/// </summary>
internal sealed class LinkApi(ProxyCollection proxies, string version)
{
    private const int MaxBodyBytes = 1024 * 1024;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (CleanRedirect(context) is { } location)
        {
            // gorilla/mux cleans the path before any route matches: "//proxies" or "/a/../proxies" is a 301.
            context.Response.StatusCode = 301;
            context.Response.Headers.Location = location;
            return;
        }

        var path = request.Path.Value ?? "/";
        var segments = path.Length > 1 ? path[1..].Split('/') : [string.Empty];
        if (!IsRoute(segments))
        {
            await WriteTextAsync(context, 404, "404 page not found\n").ConfigureAwait(false);
            return;
        }

        if (!IsAllowed(request.Method, segments))
        {
            // The mux answers a known path with a wrong method itself: empty 405, no middleware, no browser check.
            context.Response.StatusCode = 405;
            return;
        }

        // Toxiproxy's middleware order on a matched route: request id, then the browser check.
        context.Response.Headers["X-Toxiproxy-Request-Id"] = Guid.NewGuid().ToString("N")[..20];
        if (request.Headers.UserAgent.ToString().StartsWith("Mozilla/", StringComparison.Ordinal))
        {
            // Toxiproxy refuses browsers so that a web page cannot drive the chaos API.
            await WriteTextAsync(context, 403, "User agent not allowed\n").ConfigureAwait(false);
            return;
        }

        try
        {
            var body = await ReadBodyAsync(request).ConfigureAwait(false);
            await RouteAsync(context, request.Method, segments, body).ConfigureAwait(false);
        }
        catch (LinkApiError error)
        {
            // Toxiproxy's errors go out through Go's http.Error: JSON text, a newline, typed text/plain.
            var output = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(output, JsonResponse.WriterOptions))
            {
                JsonResponse.WriteError(json, error);
            }

            await WriteTextAsync(context, error.Status, System.Text.Encoding.UTF8.GetString(output.WrittenSpan) + "\n").ConfigureAwait(false);
        }
    }

    /// <summary>Where gorilla/mux would redirect a request whose path is not clean; null when it is clean.</summary>
    private static string? CleanRedirect(HttpContext context)
    {
        // Kestrel has already removed dot segments from Request.Path; the raw target still has them.
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            return null;
        }

        var queryAt = raw.IndexOf('?', StringComparison.Ordinal);
        var path = queryAt < 0 ? raw : raw[..queryAt];
        var clean = CleanPath(path);
        return clean == path ? null : clean + (queryAt < 0 ? string.Empty : raw[queryAt..]);
    }

    /// <summary>gorilla/mux's cleanPath: Go's path.Clean, keeping a trailing slash.</summary>
    private static string CleanPath(string path)
    {
        var kept = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (kept.Count > 0)
                {
                    kept.RemoveAt(kept.Count - 1);
                }

                continue;
            }

            kept.Add(segment);
        }

        var clean = "/" + string.Join('/', kept);
        return path.EndsWith('/') && clean != "/" ? clean + "/" : clean;
    }

    private static bool IsAllowed(string method, string[] path) => path switch
    {
        ["version"] => method == "GET",
        ["reset"] or ["populate"] or ["disable"] or ["enable"] => method == "POST",
        ["proxies"] or ["proxies", _, "toxics"] => method is "GET" or "POST",
        _ => method is "GET" or "POST" or "PATCH" or "DELETE",
    };

    private static bool IsRoute(string[] path) =>
        path is ["version"] or ["reset"] or ["proxies"] or ["populate"] or ["disable"] or ["enable"] or ["proxies", { Length: > 0 }]
            or ["proxies", { Length: > 0 }, "toxics"] or ["proxies", { Length: > 0 }, "toxics", { Length: > 0 }];

    private Task RouteAsync(HttpContext context, string method, string[] path, byte[] body) => (method, path) switch
    {
        // Toxiproxy's exact /version bytes, spacing and content type included.
        ("GET", ["version"]) => WriteTextAsync(context, 200, $"{{\"version\": \"{version}\"}}\n", "application/json;charset=utf-8"),
        ("POST", ["reset"]) => ResetAsync(context),
        ("GET", ["proxies"]) => ListProxiesAsync(context),
        ("POST", ["proxies"]) => CreateProxyAsync(context, body),
        ("POST", ["populate"]) => PopulateAsync(context, body),
        ("POST", ["disable"]) => SetEnabledAsync(context, body, enabled: false),
        ("POST", ["enable"]) => SetEnabledAsync(context, body, enabled: true),
        ("GET", ["proxies", var name]) => ShowProxyAsync(context, name),
        ("POST" or "PATCH", ["proxies", var name]) => UpdateProxyAsync(context, name, body),
        ("DELETE", ["proxies", var name]) => DeleteProxyAsync(context, name),
        ("GET", ["proxies", var name, "toxics"]) => ListToxicsAsync(context, name),
        ("POST", ["proxies", var name, "toxics"]) => CreateToxicAsync(context, name, body),
        ("GET", ["proxies", var name, "toxics", var toxic]) => ShowToxicAsync(context, name, toxic),
        ("POST" or "PATCH", ["proxies", var name, "toxics", var toxic]) => UpdateToxicAsync(context, name, toxic, body),
        ("DELETE", ["proxies", var name, "toxics", var toxic]) => DeleteToxicAsync(context, name, toxic),
        _ => throw new InvalidOperationException($"{method} /{string.Join('/', path)} passed IsAllowed but has no handler."),
    };

    private Task ResetAsync(HttpContext context) => proxies.ChangeAsync(async all =>
    {
        foreach (var proxy in all.Values)
        {
            await proxy.StartAsync().ConfigureAwait(false);
            proxy.RemoveAllToxics();
        }

        context.Response.StatusCode = 204;
        return true;
    });

    private async Task ListProxiesAsync(HttpContext context)
    {
        var snapshot = await proxies.ReadAsync(all => all.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray()).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json =>
        {
            // Proxy names are keys here; they are quoted as Go quotes them, so the object is written raw.
            var entries = snapshot.Select(proxy => JsonResponse.GoQuote(proxy.Name) + ":" + JsonResponse.ProxyText(proxy));
            json.WriteRawValue("{" + string.Join(',', entries) + "}", skipInputValidation: true);
        }).ConfigureAwait(false);
    }

    private async Task CreateProxyAsync(HttpContext context, byte[] body)
    {
        var input = ProxyInput.Decode(JsonRequest.Parse(body)).Validate(atProxy: null);
        var created = await proxies.ChangeAsync(async all =>
        {
            if (all.ContainsKey(input.Name))
            {
                throw new LinkApiError(409, "proxy already exists");
            }

            var proxy = proxies.Create(input.Name, input.Listen, input.Upstream, input.Protocol);
            if (input.Enabled)
            {
                await proxy.StartAsync().ConfigureAwait(false);
            }

            all.Add(proxy.Name, proxy);
            return proxy;
        }).ConfigureAwait(false);
        await WriteJsonAsync(context, 201, json => JsonResponse.WriteProxy(json, created)).ConfigureAwait(false);
    }

    private async Task PopulateAsync(HttpContext context, byte[] body)
    {
        var populated = new List<ProxyRuntime>();
        LinkApiError? failure = null;
        ProxyInput[] inputs = [];
        try
        {
            // As Go does: the whole array is decoded (type errors first), then every entry is checked,
            // all before any proxy is touched.
            var decoded = JsonRequest.Parse(body, JsonValueKind.Array).Items.Select(ProxyInput.Decode).ToArray();
            inputs = decoded.Select((item, index) => item.Validate(atProxy: index + 1)).ToArray();
        }
        catch (LinkApiError error)
        {
            failure = error;
        }

        await proxies.ChangeAsync(async all =>
        {
            foreach (var input in inputs)
            {
                try
                {
                    populated.Add(await AddOrReplaceAsync(all, input).ConfigureAwait(false));
                }
                catch (LinkApiError error)
                {
                    failure = error;
                    break;
                }
            }

            return true;
        }).ConfigureAwait(false);

        await WriteJsonAsync(context, failure?.Status ?? 201, json =>
        {
            json.WriteStartObject();
            if (failure is not null)
            {
                JsonResponse.WriteGoString(json, "error", failure.Message);
                json.WriteNumber("status", failure.Status);
            }

            json.WritePropertyName("proxies");
            if (populated.Count == 0)
            {
                // Go marshals its empty (nil) slice as null; Toxiproxy clients expect exactly that.
                json.WriteNullValue();
            }
            else
            {
                JsonResponse.WriteProxyArray(json, populated);
            }

            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// An extension (Toxiproxy has no such route): disables or enables every proxy named in a JSON array of names, in
    /// one change (<see cref="ProxyCollection.SetEnabledAsync"/>: a region's links cut in one instant, all or nothing).
    /// </summary>
    private async Task SetEnabledAsync(HttpContext context, byte[] body, bool enabled)
    {
        var switched = await proxies.SetEnabledAsync(JsonRequest.Parse(body, JsonValueKind.Array).Strings, enabled).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json =>
        {
            json.WriteStartObject();
            json.WritePropertyName("proxies");
            JsonResponse.WriteProxyArray(json, switched);
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Toxiproxy's populate rule: an identical proxy is kept as it is; a different one is stopped and replaced.
    /// When the replacement cannot start, the old proxy stays in place, stopped, as in Toxiproxy.
    /// </summary>
    private async Task<ProxyRuntime> AddOrReplaceAsync(Dictionary<string, ProxyRuntime> all, ProxyInput input)
    {
        if (all.TryGetValue(input.Name, out var existing))
        {
            // Compared as strings against the resolved listen address, exactly as Toxiproxy does.
            if (existing.Upstream == input.Upstream && existing.Listen == input.Listen && existing.Protocol == input.Protocol)
            {
                return existing;
            }

            await existing.StopAsync().ConfigureAwait(false);
        }

        var proxy = proxies.Create(input.Name, input.Listen, input.Upstream, input.Protocol);
        if (input.Enabled)
        {
            await proxy.StartAsync().ConfigureAwait(false);
        }

        all[proxy.Name] = proxy;
        return proxy;
    }

    private async Task ShowProxyAsync(HttpContext context, string name)
    {
        var proxy = await FindProxyAsync(name).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteProxy(json, proxy)).ConfigureAwait(false);
    }

    private async Task UpdateProxyAsync(HttpContext context, string name, byte[] body)
    {
        var updated = await proxies.ChangeAsync(async all =>
        {
            var proxy = all.GetValueOrDefault(name) ?? throw ProxyNotFound();
            var input = JsonRequest.Parse(body);
            if (input.String("protocol") is { Length: > 0 } protocol && protocol != proxy.Protocol)
            {
                throw new LinkApiError(400, $"a proxy's protocol cannot change ({proxy.Protocol} → {protocol}): delete the proxy and create it again");
            }

            var listen = input.String("listen") is { Length: > 0 } newListen ? newListen : proxy.Listen;
            var upstream = input.String("upstream") is { Length: > 0 } newUpstream ? newUpstream : proxy.Upstream;
            var enabled = input.Bool("enabled") ?? proxy.Enabled;
            // Toxiproxy's Update: a new listen or upstream stops the proxy and stores the values; then it is
            // started or stopped as asked. A failed start leaves it disabled with the new values (500).
            if (listen != proxy.Listen || upstream != proxy.Upstream)
            {
                await proxy.StopAsync().ConfigureAwait(false);
                await proxy.ReconfigureAsync(listen, upstream).ConfigureAwait(false);
            }

            if (enabled)
            {
                await proxy.StartAsync().ConfigureAwait(false);
            }
            else
            {
                await proxy.StopAsync().ConfigureAwait(false);
            }

            return proxy;
        }).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteProxy(json, updated)).ConfigureAwait(false);
    }

    private Task DeleteProxyAsync(HttpContext context, string name) => proxies.ChangeAsync(async all =>
    {
        var proxy = all.GetValueOrDefault(name) ?? throw ProxyNotFound();
        all.Remove(name);
        await proxy.StopAsync().ConfigureAwait(false);
        context.Response.StatusCode = 204;
        return true;
    });

    private async Task ListToxicsAsync(HttpContext context, string name)
    {
        var proxy = await FindProxyAsync(name).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteToxics(json, proxy.Toxics)).ConfigureAwait(false);
    }

    private async Task CreateToxicAsync(HttpContext context, string proxyName, byte[] body)
    {
        var toxic = await proxies.ChangeAsync(all =>
        {
            var proxy = all.GetValueOrDefault(proxyName) ?? throw ProxyNotFound();
            var created = ToxicInput.ReadNew(JsonRequest.Parse(body), proxy.FindToxic);
            if (!proxy.TryAddToxic(created))
            {
                throw ToxicInput.AlreadyExists();
            }

            return Task.FromResult(created);
        }).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteToxic(json, toxic)).ConfigureAwait(false);
    }

    private async Task ShowToxicAsync(HttpContext context, string proxyName, string toxicName)
    {
        var proxy = await FindProxyAsync(proxyName).ConfigureAwait(false);
        var toxic = proxy.FindToxic(toxicName) ?? throw ToxicInput.NotFound();
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteToxic(json, toxic)).ConfigureAwait(false);
    }

    private async Task UpdateToxicAsync(HttpContext context, string proxyName, string toxicName, byte[] body)
    {
        var toxic = await proxies.ChangeAsync(all =>
        {
            var proxy = all.GetValueOrDefault(proxyName) ?? throw ProxyNotFound();
            var existing = proxy.FindToxic(toxicName) ?? throw ToxicInput.NotFound();
            var updated = ToxicInput.ReadUpdate(JsonRequest.Parse(body), existing);
            proxy.TryUpdateToxic(updated);
            return Task.FromResult(updated);
        }).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, json => JsonResponse.WriteToxic(json, toxic)).ConfigureAwait(false);
    }

    private Task DeleteToxicAsync(HttpContext context, string proxyName, string toxicName) => proxies.ChangeAsync(all =>
    {
        var proxy = all.GetValueOrDefault(proxyName) ?? throw ProxyNotFound();
        if (!proxy.TryRemoveToxic(toxicName))
        {
            throw ToxicInput.NotFound();
        }

        context.Response.StatusCode = 204;
        return Task.FromResult(true);
    });

    private Task<ProxyRuntime> FindProxyAsync(string name) =>
        proxies.ReadAsync(all => all.GetValueOrDefault(name) ?? throw ProxyNotFound());

    private static LinkApiError ProxyNotFound() => new(404, "proxy not found");

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new LinkApiError(413, "request body too large");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task WriteTextAsync(HttpContext context, int status, string text, string contentType = "text/plain; charset=utf-8")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        if (contentType.StartsWith("text/plain", StringComparison.Ordinal))
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
        }

        await context.Response.WriteAsync(text).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(output, JsonResponse.WriterOptions))
        {
            write(json);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
    }
}
