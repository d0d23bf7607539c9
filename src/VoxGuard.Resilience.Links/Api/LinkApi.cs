using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
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
        var path = request.Path.Value ?? "/";
        var segments = path.Length > 1 ? path[1..].Split('/') : [string.Empty];
        if (!IsRoute(segments))
        {
            await WriteTextAsync(context, 404, "404 page not found\n").ConfigureAwait(false);
            return;
        }

        if (request.Headers.UserAgent.ToString().StartsWith("Mozilla/", StringComparison.Ordinal))
        {
            // Toxiproxy refuses browsers so that a web page cannot drive the chaos API.
            await WriteTextAsync(context, 403, "User agent not allowed\n").ConfigureAwait(false);
            return;
        }

        context.Response.Headers["X-Toxiproxy-Request-Id"] = Guid.NewGuid().ToString("N")[..20];
        try
        {
            var body = await ReadBodyAsync(request).ConfigureAwait(false);
            await RouteAsync(context, request.Method, segments, body).ConfigureAwait(false);
        }
        catch (LinkApiError error) when (error.Status == 405)
        {
            context.Response.StatusCode = 405;
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

    private static bool IsRoute(string[] path) =>
        path is ["version"] or ["reset"] or ["proxies"] or ["populate"] or ["proxies", { Length: > 0 }]
            or ["proxies", { Length: > 0 }, "toxics"] or ["proxies", { Length: > 0 }, "toxics", { Length: > 0 }];

    private Task RouteAsync(HttpContext context, string method, string[] path, byte[] body) => (method, path) switch
    {
        // Toxiproxy's exact /version bytes, spacing and content type included.
        ("GET", ["version"]) => WriteTextAsync(context, 200, $"{{\"version\": \"{version}\"}}\n", "application/json;charset=utf-8"),
        ("POST", ["reset"]) => ResetAsync(context),
        ("GET", ["proxies"]) => ListProxiesAsync(context),
        ("POST", ["proxies"]) => CreateProxyAsync(context, body),
        ("POST", ["populate"]) => PopulateAsync(context, body),
        ("GET", ["proxies", var name]) => ShowProxyAsync(context, name),
        ("POST" or "PATCH", ["proxies", var name]) => UpdateProxyAsync(context, name, body),
        ("DELETE", ["proxies", var name]) => DeleteProxyAsync(context, name),
        ("GET", ["proxies", var name, "toxics"]) => ListToxicsAsync(context, name),
        ("POST", ["proxies", var name, "toxics"]) => CreateToxicAsync(context, name, body),
        ("GET", ["proxies", var name, "toxics", var toxic]) => ShowToxicAsync(context, name, toxic),
        ("POST" or "PATCH", ["proxies", var name, "toxics", var toxic]) => UpdateToxicAsync(context, name, toxic, body),
        ("DELETE", ["proxies", var name, "toxics", var toxic]) => DeleteToxicAsync(context, name, toxic),
        _ => throw new LinkApiError(405, "method not allowed"),
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
            json.WriteStartObject();
            foreach (var proxy in snapshot)
            {
                json.WritePropertyName(proxy.Name);
                JsonResponse.WriteProxy(json, proxy);
            }

            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task CreateProxyAsync(HttpContext context, byte[] body)
    {
        var input = ProxyInput.Read(JsonRequest.Parse(body), atProxy: null);
        var created = await proxies.ChangeAsync(async all =>
        {
            if (all.ContainsKey(input.Name))
            {
                throw new LinkApiError(409, "proxy already exists");
            }

            var proxy = proxies.Create(input.Name, input.Listen, input.Upstream);
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
            // Every entry is checked before any proxy is touched.
            inputs = JsonRequest.Parse(body, JsonValueKind.Array).Items
                .Select((item, index) => ProxyInput.Read(item, atProxy: index + 1))
                .ToArray();
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
                json.WriteString("error", failure.Message);
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
                json.WriteStartArray();
                foreach (var proxy in populated)
                {
                    JsonResponse.WriteProxy(json, proxy);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Toxiproxy's populate rule: an identical proxy is kept as it is; a different one is replaced.</summary>
    private async Task<ProxyRuntime> AddOrReplaceAsync(Dictionary<string, ProxyRuntime> all, ProxyInput input)
    {
        if (all.TryGetValue(input.Name, out var existing))
        {
            // Compared as strings against the resolved listen address, exactly as Toxiproxy does.
            if (existing.Upstream == input.Upstream && existing.Listen == input.Listen)
            {
                return existing;
            }

            await existing.StopAsync().ConfigureAwait(false);
            all.Remove(input.Name);
        }

        var proxy = proxies.Create(input.Name, input.Listen, input.Upstream);
        if (input.Enabled)
        {
            await proxy.StartAsync().ConfigureAwait(false);
        }

        all.Add(proxy.Name, proxy);
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
            var listen = input.String("listen") is { Length: > 0 } newListen ? newListen : proxy.Listen;
            var upstream = input.String("upstream") is { Length: > 0 } newUpstream ? newUpstream : proxy.Upstream;
            var enabled = input.Bool("enabled") ?? proxy.Enabled;
            await proxy.ReconfigureAsync(listen, upstream).ConfigureAwait(false);
            if (enabled && !proxy.Enabled)
            {
                await proxy.StartAsync().ConfigureAwait(false);
            }
            else if (!enabled && proxy.Enabled)
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
