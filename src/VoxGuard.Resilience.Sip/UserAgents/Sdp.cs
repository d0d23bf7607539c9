using System.Globalization;
using System.Net;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>The tiny SDP both agents send: one PCMU audio stream, never used (no media flows in the harness).</summary>
internal static class Sdp
{
    public const string ContentType = "application/sdp";

    public static string For(IPAddress address, string user) => string.Create(CultureInfo.InvariantCulture,
        $"v=0\r\no={user} 1 1 IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
}
