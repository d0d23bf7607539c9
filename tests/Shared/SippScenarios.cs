namespace VoxGuard.Resilience.Tests.Shared;

/// <summary>
/// SIPp scenarios the tests drive real SIP with. Compiled into each test project that needs one (tests/Shared), so there
/// is one copy of each.
/// </summary>
internal static class SippScenarios
{
    /// <summary>
    /// A UAC that follows Record-Route (ACK and BYE to <c>[next_url]</c> with <c>[routes]</c>: SIPp's built-in uac
    /// ignores the route set and Kamailio answers its BYE with 404), fails a call whose 200 lacks the region header, and
    /// logs "&lt;call number&gt; &lt;region&gt;" and "&lt;call number&gt; answered &lt;timestamp&gt;" for every answered call. Holds the call for SIPp's <c>-d</c> (default 0: BYE
    /// right after the ACK). Every call also logs "&lt;call number&gt; placed &lt;date&gt;\t&lt;time&gt;\t&lt;epoch seconds&gt;" as it
    /// starts (SIPp's <c>[timestamp]</c>): when it was really placed, even when SIPp fell behind its pace.
    /// </summary>
    public const string CallerFollowingRouteSet = """
        <?xml version="1.0" encoding="ISO-8859-1" ?>
        <scenario name="voxguard-caller">
          <nop><action><log message="[call_number] placed [timestamp]"/></action></nop>
          <send retrans="500">
            <![CDATA[

              INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>
              Call-ID: [call_id]
              CSeq: 1 INVITE
              Contact: sip:caller@[local_ip]:[local_port];transport=[transport]
              Max-Forwards: 70
              Content-Type: application/sdp
              Content-Length: [len]

              v=0
              o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
              s=-
              c=IN IP[media_ip_type] [media_ip]
              t=0 0
              m=audio [media_port] RTP/AVP 0
              a=rtpmap:0 PCMU/8000

            ]]>
          </send>
          <recv response="100" optional="true"/>
          <recv response="180" optional="true"/>
          <recv response="200" rtd="true" rrs="true">
            <action>
              <ereg regexp="[A-Za-z0-9_.-]+" search_in="hdr" header="X-VoxGuard-Region:" check_it="true" assign_to="region"/>
              <log message="[call_number] [$region]"/>
              <log message="[call_number] answered [timestamp]"/>
            </action>
          </recv>
          <send>
            <![CDATA[

              ACK [next_url] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              [routes]
              From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
              Call-ID: [call_id]
              CSeq: 1 ACK
              Contact: sip:caller@[local_ip]:[local_port];transport=[transport]
              Max-Forwards: 70
              Content-Length: 0

            ]]>
          </send>
          <pause/>
          <send retrans="500">
            <![CDATA[

              BYE [next_url] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              [routes]
              From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
              Call-ID: [call_id]
              CSeq: 2 BYE
              Contact: sip:caller@[local_ip]:[local_port];transport=[transport]
              Max-Forwards: 70
              Content-Length: 0

            ]]>
          </send>
          <recv response="200" crlf="true"/>
        </scenario>

        """;
}
