namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>
/// Which way a toxic acts, in Toxiproxy's terms: <c>upstream</c> is client → server,
/// <c>downstream</c> is server → client.
/// </summary>
public static class ToxicStreams
{
    public const string Upstream = "upstream";
    public const string Downstream = "downstream";

    public static bool IsValid(string? stream) => stream is Upstream or Downstream;
}
