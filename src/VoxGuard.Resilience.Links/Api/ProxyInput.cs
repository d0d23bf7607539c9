namespace VoxGuard.Resilience.Links.Api;

/// <summary>A proxy as a create or populate request describes it, checked.</summary>
internal sealed record ProxyInput(string Name, string Listen, string Upstream, bool Enabled)
{
    /// <summary>Where a proxy listens when the request names no address: any free loopback port.</summary>
    public const string DefaultListen = "127.0.0.1:0";

    /// <param name="request">The decoded JSON object.</param>
    /// <param name="atProxy">The 1-based position in a populate array, named in errors; null for a single create.</param>
    public static ProxyInput Read(JsonRequest request, int? atProxy)
    {
        var name = request.String("name");
        var upstream = request.String("upstream");
        var listen = request.String("listen");
        var enabled = request.Bool("enabled") ?? true;
        var where = atProxy is { } position ? $" at proxy {position}" : string.Empty;
        if (string.IsNullOrEmpty(name))
        {
            throw new LinkApiError(400, $"missing required field: name{where}");
        }

        if (string.IsNullOrEmpty(upstream))
        {
            throw new LinkApiError(400, $"missing required field: upstream{where}");
        }

        return new ProxyInput(name, string.IsNullOrEmpty(listen) ? DefaultListen : listen, upstream, enabled);
    }
}
