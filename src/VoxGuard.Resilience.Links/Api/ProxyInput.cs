namespace VoxGuard.Resilience.Links.Api;

/// <summary>A proxy as a create or populate request describes it, checked.</summary>
internal sealed record ProxyInput(string Name, string Listen, string Upstream, bool Enabled)
{
    /// <summary>Where a proxy listens when the request names no address: any free loopback port.</summary>
    public const string DefaultListen = "127.0.0.1:0";

    /// <summary>Reads the fields; a wrongly typed one is a 400 "bad request body: …". Nothing is checked yet.</summary>
    public static Decoded Decode(JsonRequest request) => new(
        request.String("name"),
        request.String("listen"),
        request.String("upstream"),
        request.Bool("enabled") ?? true);

    /// <summary>A decoded proxy, before its required fields are checked.</summary>
    internal sealed record Decoded(string? Name, string? Listen, string? Upstream, bool Enabled)
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

            return new ProxyInput(Name, string.IsNullOrEmpty(Listen) ? DefaultListen : Listen, Upstream, Enabled);
        }
    }
}
