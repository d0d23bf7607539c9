using System.Globalization;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>Builds requests and the responses to them (RFC 3261 8.1.1 and 8.2.6).</summary>
public static class SipMessageFactory
{
    /// <summary>A request with the mandatory headers in the usual order: Via, Max-Forwards, From, To, Call-ID, CSeq.</summary>
    public static SipRequest CreateRequest(string method, string requestUri, string via, string from, string to, string callId, long cseq, int maxForwards = 70)
    {
        ArgumentNullException.ThrowIfNull(via);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(callId);
        var request = new SipRequest(method, requestUri);
        request.Headers
            .Add(SipHeaderNames.Via, via)
            .Add(SipHeaderNames.MaxForwards, maxForwards.ToString(CultureInfo.InvariantCulture))
            .Add(SipHeaderNames.From, from)
            .Add(SipHeaderNames.To, to)
            .Add(SipHeaderNames.CallId, callId)
            .Add(SipHeaderNames.CSeq, new SipCSeq(cseq, method).ToString());
        return request;
    }

    /// <summary>
    /// The response to <paramref name="request"/>: its Via lines in order, From, To (with <paramref name="toTag"/> added when
    /// the To has none and the response is not 100), Call-ID and CSeq; Record-Route too for 1xx/2xx to an INVITE, as a
    /// dialog-creating response must (RFC 3261 12.1.1).
    /// </summary>
    public static SipResponse CreateResponse(SipRequest request, int statusCode, string? reasonPhrase = null, string? toTag = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = CreateResponse(request.Headers, statusCode, reasonPhrase, toTag)!;
        if (statusCode is > 100 and < 300 && request.Method == SipMethods.Invite)
        {
            response.Headers.CopyFrom(request.Headers, SipHeaderNames.RecordRoute);
        }

        return response;
    }

    /// <summary>
    /// A response from a request's headers alone (for one that failed to parse); null when the headers lack a Via, so
    /// there is nowhere to send it.
    /// </summary>
    public static SipResponse? CreateResponse(SipHeaders requestHeaders, int statusCode, string? reasonPhrase = null, string? toTag = null)
    {
        ArgumentNullException.ThrowIfNull(requestHeaders);
        if (!requestHeaders.Contains(SipHeaderNames.Via))
        {
            return null;
        }

        var response = new SipResponse(statusCode, reasonPhrase);
        response.Headers.CopyFrom(requestHeaders, SipHeaderNames.Via);
        CopyFirst(requestHeaders, response.Headers, SipHeaderNames.From);
        var to = requestHeaders.Get(SipHeaderNames.To);
        if (to is not null)
        {
            var hasTag = SipNameAddress.TryParse(to, out var address) && address!.Tag is not null;
            response.Headers.Add(SipHeaderNames.To, hasTag || toTag is null || statusCode == 100 ? to : $"{to};tag={toTag}");
        }

        CopyFirst(requestHeaders, response.Headers, SipHeaderNames.CallId);
        CopyFirst(requestHeaders, response.Headers, SipHeaderNames.CSeq);
        return response;
    }

    private static void CopyFirst(SipHeaders from, SipHeaders to, string name)
    {
        var value = from.Get(name);
        if (value is not null)
        {
            to.Add(name, value);
        }
    }
}
