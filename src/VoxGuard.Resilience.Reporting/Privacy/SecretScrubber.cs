using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Reporting.Privacy;

/// <summary>
/// Removes secrets from text evidence before it goes into a report: passwords and tokens in the shapes servers and
/// clients print them (<c>password=…</c>, <c>"password": "…"</c>, <c>requirepass …</c>, <c>masterauth …</c>,
/// <c>AUTH …</c>, <c>Authorization: Bearer …</c>, <c>token=…</c>, <c>user:secret@host</c> in URLs). The secret becomes
/// <see cref="Mask"/>; the key stays so a reader sees that something was there.
/// </summary>
public static partial class SecretScrubber
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>The text with every known secret pattern masked.</summary>
    public static string Scrub(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = QuotedKeyValue().Replace(text, match => match.Groups["prefix"].Value + Mask + match.Groups["quote"].Value);
        text = KeyValue().Replace(text, match => match.Groups["prefix"].Value + Mask);
        text = ServerDirective().Replace(text, match => match.Groups["prefix"].Value + Mask);
        text = BearerToken().Replace(text, match => match.Groups["prefix"].Value + Mask);
        return UrlCredentials().Replace(text, match => match.Groups["prefix"].Value + Mask + "@");
    }

    /// <summary>True when the media type is text that <see cref="Scrub"/> can clean (binary files are copied as they are).</summary>
    public static bool IsText(string mediaType) =>
        mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("xml", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("yaml", StringComparison.OrdinalIgnoreCase);

    private const string SecretKeys = @"(?:password|passwd|pwd|pgpassword|passphrase|secret|client_secret|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|requirepass|masterauth)";

    // "password": "hunter2"  /  'token': 'abc'
    [GeneratedRegex(@"(?<prefix>(?<keyquote>[""'])" + SecretKeys + @"\k<keyquote>\s*:\s*(?<quote>[""']))(?:\\.|(?!\k<quote>).)*\k<quote>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QuotedKeyValue();

    // password=hunter2, Password=hunter2; (connection strings), token: abc, PGPASSWORD="x" (same line only)
    [GeneratedRegex(@"(?<prefix>\b" + SecretKeys + @"[ \t]*[=:][ \t]*[""']?)(?!\*\*\*)[^\s;,&""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValue();

    // Redis configuration and commands: requirepass x, masterauth x, sentinel auth-pass <master> x, AUTH [user] x.
    // AUTH only in capitals, as a command: "auth failed for user" in a log line is prose.
    [GeneratedRegex(@"(?<prefix>\b(?:(?i:requirepass|masterauth|auth-pass)|AUTH)[ \t]+(?:\S+[ \t]+(?=\S+[ \t]*$))?)(?!\*\*\*)(?>\S+)(?![ \t]+\*\*\*)", RegexOptions.CultureInvariant | RegexOptions.Multiline)]
    private static partial Regex ServerDirective();

    // Authorization: Bearer abc / Authorization: Basic abc / a bare Bearer token
    [GeneratedRegex(@"(?<prefix>\b(?i:authorization):[ \t]*(?:Bearer|Basic)[ \t]+|\bBearer[ \t]+)(?!\*\*\*)[A-Za-z0-9\-._~+/=]{8,}", RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    // postgres://user:secret@host, redis://:secret@host
    [GeneratedRegex(@"(?<prefix>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlCredentials();
}
