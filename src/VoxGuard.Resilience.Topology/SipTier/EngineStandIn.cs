using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// The ACM detection engine's stand-in in each region until the real engine exists: a SIPp UAS at the region's engine
/// address over UDP that answers every INVITE with 180 and 200 (echoing Record-Route, so in-dialog requests return
/// through the region's proxy), takes the ACK and answers the BYE. Everything about it is in this class, so replacing it
/// with the real engine touches only <see cref="SpecFor"/> and <see cref="WriteFilesAsync"/>.
/// </summary>
/// <remarks>
/// SIPp runs in the foreground with no terminal: <c>-nostdin</c> (no keyboard), errors only to its error file, its
/// default handling kept (an unexpected BYE or CANCEL is answered 200). It is started in its own process
/// group like every server, so killing the group kills it. Its per-second statistics (<c>-trace_stat</c>) go to
/// <see cref="StatisticsFile"/>.
/// </remarks>
public static class EngineStandIn
{
    /// <summary>The SIPp scenario of the stand-in (a UAS that record-routes correctly, unlike SIPp's built-in one).</summary>
    public const string Scenario = """
        <?xml version="1.0" encoding="ISO-8859-1" ?>
        <scenario name="voxguard-engine-stand-in">
          <recv request="INVITE" crlf="true"/>
          <send>
            <![CDATA[

              SIP/2.0 180 Ringing
              [last_Via:]
              [last_Record-Route:]
              [last_From:]
              [last_To:];tag=[pid]SIPpTag01[call_number]
              [last_Call-ID:]
              [last_CSeq:]
              Contact: <sip:[local_ip]:[local_port];transport=[transport]>
              Content-Length: 0

            ]]>
          </send>
          <send retrans="500">
            <![CDATA[

              SIP/2.0 200 OK
              [last_Via:]
              [last_Record-Route:]
              [last_From:]
              [last_To:];tag=[pid]SIPpTag01[call_number]
              [last_Call-ID:]
              [last_CSeq:]
              Contact: <sip:[local_ip]:[local_port];transport=[transport]>
              Content-Type: application/sdp
              Content-Length: [len]

              v=0
              o=engine 53655765 2353687637 IN IP[local_ip_type] [local_ip]
              s=-
              c=IN IP[media_ip_type] [media_ip]
              t=0 0
              m=audio [media_port] RTP/AVP 0
              a=rtpmap:0 PCMU/8000

            ]]>
          </send>
          <recv request="ACK" crlf="true"/>
          <recv request="BYE"/>
          <send>
            <![CDATA[

              SIP/2.0 200 OK
              [last_Via:]
              [last_From:]
              [last_To:]
              [last_Call-ID:]
              [last_CSeq:]
              Contact: <sip:[local_ip]:[local_port];transport=[transport]>
              Content-Length: 0

            ]]>
          </send>
          <timewait milliseconds="500"/>
        </scenario>

        """;

    /// <summary>The scenario file's name in the run directory.</summary>
    public const string ScenarioFile = "engine-stand-in.xml";

    /// <summary>The name of a region's engine process (lagos-engine).</summary>
    public static string ProcessName(RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return $"{region.Name}-engine";
    }

    /// <summary>The CSV of SIPp's per-second counters for a region's stand-in (<c>IncomingCall(C)</c>, <c>SuccessfulCall(C)</c>…).</summary>
    public static string StatisticsFile(RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        return run.PathOf($"{ProcessName(region)}-stat.csv");
    }

    /// <summary>The spec of a region's engine stand-in: SIPp UAS on the engine address, UDP, foreground.</summary>
    public static ProcessSpec SpecFor(RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        return new ProcessSpec(ProcessName(region), "sipp", "sip-tester")
        {
            NetworkNamespace = run.NetworkNamespaceOf(region.Name),
            Arguments =
            [
                "-sf", run.PathOf(ScenarioFile),
                "-i", region.Engine.Address.ToString(),
                "-p", region.Engine.Port.ToString(CultureInfo.InvariantCulture),
                "-mi", region.Engine.Address.ToString(),
                "-t", "u1",
                "-nostdin",
                "-trace_err", "-error_file", run.PathOf($"{ProcessName(region)}-errors.log"),
                "-trace_stat", "-stf", StatisticsFile(run, region), "-fd", "1",
            ],
        };
    }

    /// <summary>Writes what the stand-ins need into the run directory (the scenario, shared by every region).</summary>
    public static Task WriteFilesAsync(RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        return File.WriteAllTextAsync(run.PathOf(ScenarioFile), Scenario, cancellationToken);
    }
}
