namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>
/// A message that could not be parsed. <see cref="StatusCode"/> is the response to send back when it was a request
/// (400 Bad Request, 505 Version Not Supported, 513 Message Too Large, 416 Unsupported URI Scheme); <see cref="Reason"/>
/// says what was wrong, fit for a Warning header or a log line.
/// </summary>
public sealed class SipParseException : Exception
{
    public SipParseException()
        : this(SipStatus.BadRequest, "malformed message")
    {
    }

    public SipParseException(string message)
        : this(SipStatus.BadRequest, message)
    {
    }

    public SipParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = SipStatus.BadRequest;
        Reason = message;
    }

    /// <summary>An error with the response code to send and the reason.</summary>
    public SipParseException(int statusCode, string reason, SipHeaders? headers = null)
        : base($"{statusCode} {SipStatus.ReasonPhrase(statusCode)}: {reason}")
    {
        StatusCode = statusCode;
        Reason = reason;
        Headers = headers;
    }

    /// <summary>The status code of the response to send for it.</summary>
    public int StatusCode { get; }

    /// <summary>What was wrong.</summary>
    public string Reason { get; }

    /// <summary>The headers parsed before the error was found (enough to answer it when Via, From, To, Call-ID and CSeq are among them), or null.</summary>
    public SipHeaders? Headers { get; }

    /// <summary>True when the message was a request (the start line parsed as one), so it deserves a response.</summary>
    public bool WasRequest { get; init; }
}
