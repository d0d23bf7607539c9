using System.Security.Cryptography;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>Generators for branch parameters, tags and Call-IDs (random, URL-safe, unique enough for any run).</summary>
public static class SipIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A new branch: the RFC 3261 magic cookie and 16 random characters.</summary>
    public static string NewBranch() => SipVia.MagicCookie + Random(16);

    /// <summary>A new From/To tag (10 random characters).</summary>
    public static string NewTag() => Random(10);

    /// <summary>A new Call-ID: 20 random characters, <c>@host</c> when a host is given.</summary>
    public static string NewCallId(string? host = null) => host is null ? Random(20) : Random(20) + "@" + host;

    private static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
