using System.Buffers;
using System.Globalization;
using System.Text;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>A SIP request or response: ordered headers and a body. Mutable while being built; treat received ones as read-only.</summary>
public abstract class SipMessage
{
    /// <summary>The only version this stack speaks.</summary>
    public const string Version = "SIP/2.0";

    private const int MaxCachedBuilder = 16 * 1024;

    [ThreadStatic]
    private static StringBuilder? t_builder;

    private IReadOnlyList<SipVia>? _vias;

    /// <summary>The header lines, in order.</summary>
    public SipHeaders Headers { get; } = new();

    /// <summary>The body (exactly Content-Length bytes when parsed).</summary>
    public ReadOnlyMemory<byte> Body { get; set; } = ReadOnlyMemory<byte>.Empty;

    /// <summary>The Call-ID, or an empty string when absent.</summary>
    public string CallId => Headers.Get(SipHeaderNames.CallId) ?? string.Empty;

    /// <summary>The parsed CSeq (default when absent or malformed; the parser rejects both).</summary>
    public SipCSeq CSeq => SipCSeq.TryParse(Headers.Get(SipHeaderNames.CSeq), out var cseq) ? cseq : default;

    /// <summary>Every Via entry, top first (repeated lines and comma-separated entries alike).</summary>
    public IReadOnlyList<SipVia> Vias => _vias ??= ParseVias();

    /// <summary>The top Via, or null.</summary>
    public SipVia? TopVia => Vias.Count > 0 ? Vias[0] : null;

    /// <summary>The From header parsed, or null.</summary>
    public SipNameAddress? From => SipNameAddress.TryParse(Headers.Get(SipHeaderNames.From), out var from) ? from : null;

    /// <summary>The To header parsed, or null.</summary>
    public SipNameAddress? To => SipNameAddress.TryParse(Headers.Get(SipHeaderNames.To), out var to) ? to : null;

    /// <summary>The first Contact parsed, or null.</summary>
    public SipNameAddress? Contact
    {
        get
        {
            var entries = Headers.GetEntries(SipHeaderNames.Contact);
            return entries.Count > 0 && SipNameAddress.TryParse(entries[0], out var contact) ? contact : null;
        }
    }

    /// <summary>The transaction key of the message: top Via branch and CSeq method (ACK and CANCEL keep their own method).</summary>
    public string TransactionKey => (TopVia?.Branch ?? string.Empty) + " " + CSeq.Method;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);

    /// <summary>Writes the start line.</summary>
    protected abstract void WriteStartLine(StringBuilder builder);

    /// <summary>
    /// The wire form: start line, headers in order, a Content-Length equal to the body's length (replacing any present,
    /// written last), a blank line and the body.
    /// </summary>
    public byte[] ToBytes()
    {
        // Built in this thread's reused builder and encoded from its chunks: the only allocation is the result, which
        // a transaction keeps for retransmissions (every message of every call comes through here).
        var builder = t_builder ??= new StringBuilder(2048);
        builder.Clear();
        WriteStartLine(builder);
        builder.Append("\r\n");
        foreach (var header in Headers)
        {
            if (!header.Name.Equals(SipHeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
            {
                builder.Append(header.Name).Append(": ").Append(header.Value).Append("\r\n");
            }
        }

        builder.Append("Content-Length: ").Append(Body.Length).Append("\r\n\r\n");
        var headLength = 0;
        foreach (var chunk in builder.GetChunks())
        {
            headLength += Encoding.UTF8.GetByteCount(chunk.Span);
        }

        var bytes = new byte[headLength + Body.Length];
        var written = 0;
        foreach (var chunk in builder.GetChunks())
        {
            written += Encoding.UTF8.GetBytes(chunk.Span, bytes.AsSpan(written));
        }

        Body.Span.CopyTo(bytes.AsSpan(headLength));
        if (builder.Capacity > MaxCachedBuilder)
        {
            t_builder = null;
        }

        return bytes;
    }

    /// <summary>Sets the body and its Content-Type.</summary>
    public void SetBody(string contentType, string body)
    {
        ArgumentNullException.ThrowIfNull(contentType);
        ArgumentNullException.ThrowIfNull(body);
        Headers.Set(SipHeaderNames.ContentType, contentType);
        Body = Encoding.UTF8.GetBytes(body);
    }

    /// <inheritdoc/>
    public override string ToString() => Encoding.UTF8.GetString(ToBytes());

    internal void CacheVias(IReadOnlyList<SipVia> vias) => _vias = vias;

    private List<SipVia> ParseVias()
    {
        var vias = new List<SipVia>();
        foreach (var entry in Headers.GetEntries(SipHeaderNames.Via))
        {
            if (SipVia.TryParse(entry, out var via))
            {
                vias.Add(via!);
            }
        }

        return vias;
    }
}

/// <summary>A SIP request.</summary>
public sealed class SipRequest : SipMessage
{
    /// <summary>A request with no headers yet (see <see cref="SipMessageFactory"/> for complete ones).</summary>
    public SipRequest(string method, string requestUri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        ArgumentException.ThrowIfNullOrWhiteSpace(requestUri);
        Method = method;
        RequestUri = requestUri;
    }

    /// <summary>INVITE, ACK, BYE, CANCEL, OPTIONS… (case-sensitive, as RFC 3261 says).</summary>
    public string Method { get; }

    /// <summary>The Request-URI as written.</summary>
    public string RequestUri { get; }

    /// <inheritdoc/>
    protected override void WriteStartLine(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append(Method).Append(' ').Append(RequestUri).Append(' ').Append(Version);
    }
}

/// <summary>A SIP response.</summary>
public sealed class SipResponse : SipMessage
{
    /// <summary>A response with no headers yet (see <see cref="SipMessageFactory"/>).</summary>
    public SipResponse(int statusCode, string? reasonPhrase = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 699);
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase ?? SipStatus.ReasonPhrase(statusCode);
    }

    /// <summary>100–699.</summary>
    public int StatusCode { get; }

    /// <summary>The reason phrase.</summary>
    public string ReasonPhrase { get; }

    /// <summary>True for 1xx.</summary>
    public bool IsProvisional => StatusCode < 200;

    /// <summary>True for 2xx.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <inheritdoc/>
    protected override void WriteStartLine(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append(Version).Append(' ').Append(StatusCode.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(ReasonPhrase);
    }
}
