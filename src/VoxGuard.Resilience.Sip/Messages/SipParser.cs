using System.Buffers;
using System.Globalization;
using System.Text;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>
/// Parses SIP messages from datagrams and from streams (RFC 3261 section 7 and 18.3). It accepts what RFC 4475 calls valid
/// (folding, compact forms, any case of header names, unusual whitespace, repeated and comma-separated Via) and rejects
/// the rest with a <see cref="SipParseException"/> that carries the response code to send. It never throws anything else,
/// whatever the bytes.
/// </summary>
public static class SipParser
{
    // Not allowed in a header section: C0 controls other than tab, CR and LF, and DEL.
    private static readonly SearchValues<byte> ControlCharacters = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(b => b is not ('\t' or '\r' or '\n')).Select(b => (byte)b), (byte)0x7F]);

    private static readonly string[] RequiredHeaders = [SipHeaderNames.Via, SipHeaderNames.From, SipHeaderNames.To, SipHeaderNames.CallId, SipHeaderNames.CSeq];

    /// <summary>
    /// Parses one datagram (UDP): a missing Content-Length means the rest of the datagram; bytes beyond Content-Length are
    /// discarded; a Content-Length larger than what arrived is an error.
    /// </summary>
    /// <exception cref="SipParseException">Malformed, too large, or an unsupported version.</exception>
    public static SipMessage Parse(ReadOnlySpan<byte> datagram, SipParserLimits? limits = null) =>
        ParseCore(datagram, stream: false, limits ?? SipParserLimits.Default, out _)
        ?? throw new SipParseException(SipStatus.BadRequest, "empty message (only line breaks)");

    /// <summary>Parses a message written as text (tests, tools): UTF-8, datagram rules.</summary>
    /// <exception cref="SipParseException">Malformed, too large, or an unsupported version.</exception>
    public static SipMessage Parse(string text, SipParserLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Parse(Encoding.UTF8.GetBytes(text), limits);
    }

    /// <summary>
    /// Takes the next message off a stream buffer (TCP): Content-Length is required and frames the body. Keepalive line
    /// breaks before a message are skipped. Returns false when the buffer holds no complete message yet;
    /// <paramref name="consumed"/> says how many bytes to drop from the buffer either way (keepalives, or the message).
    /// </summary>
    /// <exception cref="SipParseException">Malformed or too large: the stream cannot be resynchronised; close it.</exception>
    public static bool TryParseStream(ReadOnlySpan<byte> buffer, out SipMessage? message, out int consumed, SipParserLimits? limits = null)
    {
        message = ParseCore(buffer, stream: true, limits ?? SipParserLimits.Default, out consumed);
        return message is not null;
    }

    /// <summary>True when every character is a token character (RFC 3261 25.1).</summary>
    public static bool IsToken(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '!' or '%' or '*' or '_' or '+' or '`' or '\'' or '~'))
            {
                return false;
            }
        }

        return true;
    }

    private static SipMessage? ParseCore(ReadOnlySpan<byte> data, bool stream, SipParserLimits limits, out int consumed)
    {
        var start = 0;
        while (start < data.Length && data[start] is (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        consumed = start;
        if (start == data.Length)
        {
            return null;
        }

        if (!stream && data.Length > limits.MaxMessageSize)
        {
            throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"message of {data.Length} bytes exceeds the limit of {limits.MaxMessageSize}"));
        }

        var rest = data[start..];
        var (headerEnd, bodyOffset) = FindEndOfHeaders(rest);
        if (headerEnd < 0)
        {
            if (rest.Length > limits.MaxMessageSize)
            {
                throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"header section exceeds the limit of {limits.MaxMessageSize} bytes"));
            }

            if (stream)
            {
                return null;
            }

            throw new SipParseException(SipStatus.BadRequest, "header section not ended by an empty line");
        }

        var head = rest[..headerEnd];
        if (head.IndexOfAny(ControlCharacters) is var at and >= 0)
        {
            throw new SipParseException(SipStatus.BadRequest, Invariant($"control character 0x{head[at]:X2} at byte {start + at} of the header section"));
        }

        // The header section decoded into a pooled buffer; lines, names and values are cut from it as spans, so a
        // message costs a string per header value and little else (it is parsed at every hop of every call).
        var buffer = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(head.Length));
        try
        {
            var text = buffer.AsSpan(0, Encoding.UTF8.GetChars(head, buffer));
            var firstBreak = text.IndexOf('\n');
            var startLine = (firstBreak < 0 ? text : text[..firstBreak]).TrimEnd('\r').ToString();
            if (startLine.Length > limits.MaxLineLength)
            {
                throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"start line of {startLine.Length} characters exceeds the limit of {limits.MaxLineLength}"));
            }

            var message = ParseStartLine(startLine);
            var isRequest = message is SipRequest;
            try
            {
                if (firstBreak >= 0)
                {
                    // At most one header per line: the list is sized once instead of growing four times.
                    message.Headers.EnsureCapacity(text.Count('\n'));
                    ParseHeaders(text[(firstBreak + 1)..], message.Headers, limits);
                }

                var contentLength = ContentLength(message.Headers);
                var available = rest.Length - bodyOffset;
                if (stream)
                {
                    if (contentLength is null)
                    {
                        throw new SipParseException(SipStatus.BadRequest, "Content-Length is required on a stream transport (TCP)");
                    }

                    if (bodyOffset + contentLength.Value > limits.MaxMessageSize)
                    {
                        throw new SipParseException(SipStatus.MessageTooLarge,
                            Invariant($"message of {bodyOffset + contentLength.Value} bytes (Content-Length {contentLength.Value}) exceeds the limit of {limits.MaxMessageSize}"));
                    }

                    if (available < contentLength.Value)
                    {
                        consumed = start;
                        return null;
                    }
                }
                else if (contentLength > available)
                {
                    throw new SipParseException(SipStatus.BadRequest,
                        Invariant($"Content-Length {contentLength.Value} exceeds the {available} bytes of body received"));
                }

                var length = contentLength ?? available;
                message.Body = length == 0 ? ReadOnlyMemory<byte>.Empty : rest.Slice(bodyOffset, length).ToArray();
                Validate(message);
                consumed = start + bodyOffset + length;
                return message;
            }
            catch (SipParseException exception) when (exception.Headers is null)
            {
                throw new SipParseException(exception.StatusCode, exception.Reason, message.Headers) { WasRequest = isRequest };
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static (int HeaderEnd, int BodyOffset) FindEndOfHeaders(ReadOnlySpan<byte> data)
    {
        var crlf = data.IndexOf("\r\n\r\n"u8);
        var lf = data.IndexOf("\n\n"u8);
        if (crlf >= 0 && (lf < 0 || crlf + 1 <= lf))
        {
            return (crlf, crlf + 4);
        }

        return lf >= 0 ? (lf, lf + 2) : (-1, -1);
    }

    private static SipMessage ParseStartLine(string line)
    {
        if (line.StartsWith("SIP/", StringComparison.OrdinalIgnoreCase))
        {
            var parts = line.Split(' ', 3);
            if (parts.Length < 2)
            {
                throw new SipParseException(SipStatus.BadRequest, $"malformed status line '{Excerpt(line)}'");
            }

            CheckVersion(parts[0], line);
            if (parts[1].Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code is < 100 or > 699)
            {
                throw new SipParseException(SipStatus.BadRequest, $"status code '{Excerpt(parts[1])}' is not a number from 100 to 699");
            }

            return new SipResponse(code, parts.Length == 3 ? parts[2].Trim() : string.Empty);
        }

        var fields = line.Split(' ');
        if (fields.Length != 3 || fields.Any(field => field.Length == 0))
        {
            throw new SipParseException(SipStatus.BadRequest, $"malformed request line '{Excerpt(line)}' (expected: METHOD SP Request-URI SP SIP/2.0)");
        }

        if (!IsToken(fields[0]))
        {
            throw new SipParseException(SipStatus.BadRequest, $"method '{Excerpt(fields[0])}' is not a token");
        }

        CheckVersion(fields[2], line);
        var colon = fields[1].IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !fields[1].AsSpan(0, colon).ContainsAnyExcept(" "))
        {
            throw new SipParseException(SipStatus.BadRequest, $"Request-URI '{Excerpt(fields[1])}' has no scheme");
        }

        var scheme = fields[1][..colon];
        if (!scheme.Equals("sip", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("sips", StringComparison.OrdinalIgnoreCase)
            && !scheme.Equals("tel", StringComparison.OrdinalIgnoreCase))
        {
            throw new SipParseException(SipStatus.UnsupportedUriScheme, $"Request-URI scheme '{Excerpt(scheme)}' is not sip, sips or tel") { WasRequest = true };
        }

        return new SipRequest(fields[0], fields[1]);
    }

    private static void CheckVersion(string version, string line)
    {
        if (version.Equals(SipMessage.Version, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var isVersion = version.Length > 4 && version.StartsWith("SIP/", StringComparison.OrdinalIgnoreCase)
            && version[4..].Split('.') is [var major, var minor] && major.Length > 0 && minor.Length > 0
            && major.All(char.IsAsciiDigit) && minor.All(char.IsAsciiDigit);
        throw isVersion
            ? new SipParseException(SipStatus.VersionNotSupported, $"version '{Excerpt(version)}' is not supported (only SIP/2.0)") { WasRequest = !line.StartsWith("SIP/", StringComparison.OrdinalIgnoreCase) }
            : new SipParseException(SipStatus.BadRequest, $"malformed version '{Excerpt(version)}' in start line '{Excerpt(line)}'");
    }

    private static void ParseHeaders(ReadOnlySpan<char> lines, SipHeaders headers, SipParserLimits limits)
    {
        // Every segment between line feeds is a line, the last one too (even empty), as string.Split would give them.
        var lineLength = 0;
        for (var more = true; more;)
        {
            var lineBreak = lines.IndexOf('\n');
            more = lineBreak >= 0;
            var line = (more ? lines[..lineBreak] : lines).TrimEnd('\r');
            lines = more ? lines[(lineBreak + 1)..] : [];
            if (line.Length > 0 && line[0] is ' ' or '\t')
            {
                if (headers.Count == 0)
                {
                    throw new SipParseException(SipStatus.BadRequest, "continuation line before the first header");
                }

                lineLength += line.Length;
                if (lineLength > limits.MaxLineLength)
                {
                    throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"header {headers[^1].Name} is longer than the limit of {limits.MaxLineLength} characters"));
                }

                headers.AppendToLast(line.Trim().ToString());
                continue;
            }

            lineLength = line.Length;
            if (lineLength > limits.MaxLineLength)
            {
                throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"header line of {line.Length} characters exceeds the limit of {limits.MaxLineLength}"));
            }

            if (headers.Count >= limits.MaxHeaderCount)
            {
                throw new SipParseException(SipStatus.MessageTooLarge, Invariant($"more than {limits.MaxHeaderCount} header lines"));
            }

            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                throw new SipParseException(SipStatus.BadRequest, $"header line without a colon: '{Excerpt(line.ToString())}'");
            }

            var name = line[..colon].TrimEnd(" \t");
            if (!IsToken(name))
            {
                throw new SipParseException(SipStatus.BadRequest, $"header name '{Excerpt(line[..colon].ToString())}' is not a token");
            }

            headers.AddParsed(new SipHeader(SipHeaderNames.Normalize(name), line[(colon + 1)..].Trim(" \t").ToString()));
        }
    }

    private static int? ContentLength(SipHeaders headers)
    {
        int? length = null;
        foreach (var value in headers.GetAll(SipHeaderNames.ContentLength))
        {
            if (value.Length == 0 || value.Length > 9 || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new SipParseException(SipStatus.BadRequest, $"Content-Length '{Excerpt(value)}' is not a non-negative number");
            }

            if (length is not null && length != parsed)
            {
                throw new SipParseException(SipStatus.BadRequest, Invariant($"conflicting Content-Length headers ({length} and {parsed})"));
            }

            length = parsed;
        }

        return length;
    }

    private static void Validate(SipMessage message)
    {
        foreach (var required in RequiredHeaders)
        {
            if (!message.Headers.Contains(required))
            {
                throw new SipParseException(SipStatus.BadRequest, $"missing {required} header");
            }
        }

        foreach (var single in (ReadOnlySpan<string>)[SipHeaderNames.CallId, SipHeaderNames.CSeq, SipHeaderNames.From, SipHeaderNames.To])
        {
            if (message.Headers.CountOf(single) > 1)
            {
                throw new SipParseException(SipStatus.BadRequest, $"more than one {single} header");
            }
        }

        if (message.CallId.Length == 0 || message.CallId.AsSpan().IndexOfAny(" \t") >= 0)
        {
            throw new SipParseException(SipStatus.BadRequest, $"malformed Call-ID '{Excerpt(message.CallId)}'");
        }

        var cseqText = message.Headers.Get(SipHeaderNames.CSeq);
        if (!SipCSeq.TryParse(cseqText, out var cseq))
        {
            throw new SipParseException(SipStatus.BadRequest, $"malformed CSeq '{Excerpt(cseqText ?? string.Empty)}' (expected: number below 2^31 and method)");
        }

        if (message is SipRequest request && !string.Equals(cseq.Method, request.Method, StringComparison.Ordinal))
        {
            throw new SipParseException(SipStatus.BadRequest, $"CSeq method {cseq.Method} does not match the request method {request.Method}");
        }

        var vias = message.Headers.GetEntries(SipHeaderNames.Via);
        var parsedVias = new List<SipVia>(vias.Count);
        foreach (var via in vias)
        {
            if (!SipVia.TryParse(via, out var parsed))
            {
                throw new SipParseException(SipStatus.BadRequest, $"malformed Via '{Excerpt(via)}'");
            }

            parsedVias.Add(parsed!);
        }

        if (vias.Count == 0)
        {
            throw new SipParseException(SipStatus.BadRequest, "empty Via header");
        }

        foreach (var name in (ReadOnlySpan<string>)[SipHeaderNames.From, SipHeaderNames.To])
        {
            var value = message.Headers.Get(name);
            if (!SipNameAddress.IsWellFormed(value))
            {
                throw new SipParseException(SipStatus.BadRequest, $"malformed {name} header '{Excerpt(value ?? string.Empty)}'");
            }
        }

        // Every Via was just parsed: the transaction layer's TopVia need not parse them again.
        message.CacheVias(parsedVias);
    }

    private static string Excerpt(string text)
    {
        var cleaned = new string(text.Select(c => char.IsControl(c) ? '?' : c).Take(60).ToArray());
        return text.Length > 60 ? cleaned + "…" : cleaned;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
