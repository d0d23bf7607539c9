using System.Diagnostics;
using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// What parsing one SIP message costs the stack on one thread: bytes allocated (every allocation is garbage the
/// collector must later find, at every hop of every call) and time. The messages are the ones a call through the
/// topology carries, as the load generator and the engines receive them (Kamailio's Record-Route and Via, HAProxy in
/// between adds nothing): four responses to the generator, three requests to an engine.
/// </summary>
internal static class SipParserBenchmark
{
    private const int Warmup = 20_000;

    private static readonly (string Name, string Text)[] Messages =
    [
        ("100 Trying (generator)", Response("100 Trying", "1 INVITE", toTag: false, recordRoute: false, body: false)),
        ("180 Ringing (generator)", Response("180 Ringing", "1 INVITE", toTag: true, recordRoute: true, body: false)),
        ("200 OK to INVITE (generator)", Response("200 OK", "1 INVITE", toTag: true, recordRoute: true, body: true)),
        ("200 OK to BYE (generator)", Response("200 OK", "2 BYE", toTag: true, recordRoute: false, body: false)),
        ("INVITE (engine)", Request("INVITE sip:fraud-check@127.0.1.2:5070 SIP/2.0", "1 INVITE", toTag: false, body: true)),
        ("ACK (engine)", Request("ACK sip:engine@127.0.1.2:5070;transport=udp SIP/2.0", "1 ACK", toTag: true, body: false)),
        ("BYE (engine)", Request("BYE sip:engine@127.0.1.2:5070;transport=udp SIP/2.0", "2 BYE", toTag: true, body: false)),
    ];

    public static void Run(int parses)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SIP parser: {parses} parses of each message on one thread, after {Warmup} to warm up"));
        Console.WriteLine("  message                          size   allocated a parse   time a parse");
        long totalBytes = 0;
        foreach (var (name, text) in Messages)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            for (var i = 0; i < Warmup; i++)
            {
                SipParser.Parse(bytes);
            }

            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < parses; i++)
            {
                SipParser.Parse(bytes);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)parses;
            totalBytes += (long)allocated;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-30} {bytes.Length,6} B {allocated,12:N0} B {elapsed.TotalMicroseconds / parses,11:F2} µs"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  one call's seven messages allocate {totalBytes:N0} B in parsing"));
    }

    private static string Response(string status, string cseq, bool toTag, bool recordRoute, bool body)
    {
        var text = new StringBuilder()
            .Append("SIP/2.0 ").Append(status).Append("\r\n")
            .Append("Via: SIP/2.0/TCP 127.0.1.150:41234;branch=z9hG4bK-8f2a1c9e0b7d4e3f;rport=41234;received=127.0.1.150\r\n");
        if (recordRoute)
        {
            text.Append("Record-Route: <sip:127.0.1.1;transport=tcp;r2=on;lr>\r\nRecord-Route: <sip:127.0.1.1;r2=on;lr>\r\n");
        }

        text.Append("From: <sip:load@127.0.1.150>;tag=5c1e7a9b3f\r\n")
            .Append("To: <sip:fraud-check@127.0.0.10>").Append(toTag ? ";tag=engine-lagos-48213\r\n" : "\r\n")
            .Append("Call-ID: 0f7b2c4e9a1d4b8c8e3f5a6b7c8d9e0f@127.0.1.150\r\n")
            .Append("CSeq: ").Append(cseq).Append("\r\n");
        if (toTag)
        {
            text.Append("Contact: <sip:127.0.1.2:5070;transport=udp>\r\nX-VoxGuard-Region: lagos\r\n");
        }

        return WithBody(text, body);
    }

    private static string Request(string requestLine, string cseq, bool toTag, bool body)
    {
        var text = new StringBuilder()
            .Append(requestLine).Append("\r\n")
            .Append("Record-Route: <sip:127.0.1.1;r2=on;lr>\r\nRecord-Route: <sip:127.0.1.1;transport=tcp;r2=on;lr>\r\n")
            .Append("Via: SIP/2.0/UDP 127.0.1.1;branch=z9hG4bK3e2f.6a1b2c3d4e5f60718293a4b5c6d7e8f9.0\r\n")
            .Append("Via: SIP/2.0/TCP 127.0.1.150:41234;rport=41234;received=127.0.1.150;branch=z9hG4bK-8f2a1c9e0b7d4e3f\r\n")
            .Append("Max-Forwards: 69\r\n")
            .Append("From: <sip:load@127.0.1.150>;tag=5c1e7a9b3f\r\n")
            .Append("To: <sip:fraud-check@127.0.0.10>").Append(toTag ? ";tag=engine-lagos-48213\r\n" : "\r\n")
            .Append("Call-ID: 0f7b2c4e9a1d4b8c8e3f5a6b7c8d9e0f@127.0.1.150\r\n")
            .Append("CSeq: ").Append(cseq).Append("\r\n")
            .Append("Contact: <sip:load@127.0.1.150:41234;transport=tcp>\r\n");
        return WithBody(text, body);
    }

    private static string WithBody(StringBuilder text, bool body)
    {
        const string Sdp = "v=0\r\no=load 1 1 IN IP4 127.0.1.150\r\ns=-\r\nc=IN IP4 127.0.1.150\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        if (body)
        {
            text.Append("Content-Type: application/sdp\r\n");
        }

        return text.Append("Content-Length: ").Append(body ? Encoding.UTF8.GetByteCount(Sdp) : 0).Append("\r\n\r\n").Append(body ? Sdp : string.Empty).ToString();
    }
}
