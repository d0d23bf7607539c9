namespace VoxGuard.Resilience.Links;

/// <summary>
/// An API request the link server refuses, with the HTTP status and the message Toxiproxy
/// would give. Thrown inside the server and turned into <c>{"error":…,"status":…}</c>.
/// </summary>
internal sealed class LinkApiError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
