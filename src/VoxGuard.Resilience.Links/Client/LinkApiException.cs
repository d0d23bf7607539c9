namespace VoxGuard.Resilience.Links.Client;

/// <summary>The link server (or a real Toxiproxy) refused a request.</summary>
public sealed class LinkApiException(int statusCode, string apiMessage, string request)
    : Exception($"{request} was refused by the link API with {statusCode}: {apiMessage}")
{
    public int StatusCode { get; } = statusCode;

    /// <summary>The server's own error text, e.g. "proxy not found".</summary>
    public string ApiMessage { get; } = apiMessage;
}
