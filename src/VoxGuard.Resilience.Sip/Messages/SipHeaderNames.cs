using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>Canonical header names, and the normalisation of compact forms (<c>i</c> → Call-ID, <c>v</c> → Via…) and casing.</summary>
public static class SipHeaderNames
{
    public const string Via = "Via";
    public const string From = "From";
    public const string To = "To";
    public const string CallId = "Call-ID";
    public const string CSeq = "CSeq";
    public const string Contact = "Contact";
    public const string ContentLength = "Content-Length";
    public const string ContentType = "Content-Type";
    public const string MaxForwards = "Max-Forwards";
    public const string Route = "Route";
    public const string RecordRoute = "Record-Route";
    public const string UserAgent = "User-Agent";
    public const string Server = "Server";
    public const string Allow = "Allow";
    public const string Supported = "Supported";

    /// <summary>The header that names the region whose engine answered (stamped by the UAS or the region's proxy).</summary>
    public const string VoxGuardRegion = "X-VoxGuard-Region";

    private static readonly FrozenDictionary<string, string> Compact = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["i"] = CallId, ["m"] = Contact, ["e"] = "Content-Encoding", ["l"] = ContentLength, ["c"] = ContentType,
        ["f"] = From, ["s"] = "Subject", ["k"] = Supported, ["t"] = To, ["v"] = Via, ["o"] = "Event",
        ["r"] = "Refer-To", ["b"] = "Referred-By", ["u"] = "Allow-Events", ["x"] = "Session-Expires",
        ["a"] = "Accept-Contact", ["j"] = "Reject-Contact", ["d"] = "Request-Disposition", ["y"] = "Identity", ["n"] = "Identity-Info",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string> Known = new[]
    {
        Via, From, To, CallId, CSeq, Contact, ContentLength, ContentType, MaxForwards, Route, RecordRoute, UserAgent, Server,
        Allow, Supported, "Content-Encoding", "Subject", "Event", "Refer-To", "Referred-By", "Allow-Events", "Session-Expires",
        "Accept", "Expires", "Require", "Proxy-Require", "Unsupported", "Reason", "WWW-Authenticate", "Authorization",
        "Proxy-Authenticate", "Proxy-Authorization", "Date", "Timestamp", "Warning", "Retry-After", VoxGuardRegion,
    }.ToFrozenDictionary(name => name, name => name, StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> CompactBySpan = Compact.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownBySpan = Known.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The canonical spelling of a header name: compact forms expanded, known names in their RFC casing, others as given.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryCanonical(name, out var canonical) ? canonical : name;
    }

    /// <summary>As <see cref="Normalize(string)"/> for a name still in the received text: a known name costs no string.</summary>
    public static string Normalize(ReadOnlySpan<char> name) => TryCanonical(name, out var canonical) ? canonical : name.ToString();

    private static bool TryCanonical(ReadOnlySpan<char> name, [NotNullWhen(true)] out string? canonical) =>
        (name.Length == 1 && CompactBySpan.TryGetValue(name, out canonical)) || KnownBySpan.TryGetValue(name, out canonical);

    /// <summary>True for headers whose value may be a comma-separated list of entries (Via, Route, Record-Route, Contact…).</summary>
    public static bool IsList(string name) =>
        name.Equals(Via, StringComparison.OrdinalIgnoreCase) || name.Equals(Route, StringComparison.OrdinalIgnoreCase)
        || name.Equals(RecordRoute, StringComparison.OrdinalIgnoreCase) || name.Equals(Contact, StringComparison.OrdinalIgnoreCase)
        || name.Equals(Allow, StringComparison.OrdinalIgnoreCase) || name.Equals(Supported, StringComparison.OrdinalIgnoreCase);
}
