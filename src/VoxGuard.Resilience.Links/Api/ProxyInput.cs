using VoxGuard.Resilience.Links.Proxies;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>A proxy as a create or populate request describes it, checked.</summary>
/// <param name="Name">The proxy's name.</param>
/// <param name="Listen">Where it listens.</param>
/// <param name="Upstream">Where it forwards to.</param>
/// <param name="Enabled">Whether it starts listening at once.</param>
/// <param name="Protocol">tcp (Toxiproxy's, the default) or udp (an extension: a datagram relay).</param>
internal sealed record ProxyInput(string Name, string Listen, string Upstream, bool Enabled, string Protocol = LinkProtocols.Tcp)
{
    /// <summary>Where a proxy listens when the request names no address: any free loopback port.</summary>
    public const string DefaultListen = "127.0.0.1:0";

    /// <summary>Reads the fields; a wrongly typed one is a 400 "bad request body: …". Nothing is checked yet.</summary>
    public static Decoded Decode(JsonRequest request) => new(
        request.String("name"),
        request.String("listen"),
        request.String("upstream"),
        request.Bool("enabled") ?? true,
        request.String("protocol"));

    /// <summary>A decoded proxy, before its required fields are checked.</summary>
    internal sealed record Decoded(string? Name, string? Listen, string? Upstream, bool Enabled, string? Protocol)
    {
        /// <param name="atProxy">The 1-based position in a populate array, named in errors; null for a single create.</param>
        public ProxyInput Validate(int? atProxy)
        {
            var where = atProxy is { } position ? $" at proxy {position}" : string.Empty;
            if (string.IsNullOrEmpty(Name))
            {
                throw new LinkApiError(400, $"missing required field: name{where}");
            }

            if (string.IsNullOrEmpty(Upstream))
            {
                throw new LinkApiError(400, $"missing required field: upstream{where}");
            }

            if (Protocol is { Length: > 0 } && !LinkProtocols.IsKnown(Protocol))
            {
                throw new LinkApiError(400, $"unknown protocol: {Protocol}{where} (tcp or udp)");
            }

            return new ProxyInput(Name, string.IsNullOrEmpty(Listen) ? DefaultListen : Listen, Upstream, Enabled, string.IsNullOrEmpty(Protocol) ? LinkProtocols.Tcp : Protocol);
        }
    }
}
