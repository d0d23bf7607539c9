using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Tests.Support;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Sip.Tests.Interop;

/// <summary>
/// Our stack against SIPp (Debian sip-tester) over UDP and TCP: SIPp's built-in UAC calling our UAS, and our UAC calling
/// SIPp's built-in UAS. SIPp runs as a process of a run directory, so it dies with the test whatever happens.
/// </summary>
[Category("Functional")]
[NonParallelizable]
public class SippInteropTests
{
    private const int Calls = 200;
    private const int Rate = 50;
    private RunDirectory _run = null!;

    [OneTimeSetUp]
    public void RequireSipp()
    {
        if (!File.Exists("/usr/bin/sipp"))
        {
            Assert.Ignore("SIPp is missing: apt-get install sip-tester (the interop tests run /usr/bin/sipp).");
        }
    }

    [SetUp]
    public void CreateRun() => _run = RunDirectory.Create();

    [TearDown]
    public async Task DisposeRun() => await _run.DisposeAsync();

    [TestCase(SipTransportKind.Udp)]
    [TestCase(SipTransportKind.Tcp)]
    public async Task Sipp_calls_our_uas_and_every_call_completes(SipTransportKind transport)
    {
        var port = transport == SipTransportKind.Udp ? 15061 : 15062;
        await using var uas = new SipUserAgentServer(new SipUasOptions
        {
            UdpEndPoint = transport == SipTransportKind.Udp ? new IPEndPoint(TestAddresses.Uas, port) : null,
            TcpEndPoint = transport == SipTransportKind.Tcp ? new IPEndPoint(TestAddresses.Uas, port) : null,
            ResponseHeaders = [new(SipHeaderNames.VoxGuardRegion, "lagos")],
        });
        var name = "sipp-uac-" + transport.ToString().ToLowerInvariant();
        var stat = _run.PathOf(name + "-stat.csv");
        var started = Stopwatch.GetTimestamp();
        var sipp = await _run.StartProcessAsync(new ProcessSpec(name, "sipp", "sip-tester")
        {
            Arguments =
            [
                $"{TestAddresses.Uas}:{port}", "-sn", "uac",
                "-i", TestAddresses.SippUac.ToString(), "-p", (port + 100).ToString(CultureInfo.InvariantCulture),
                "-t", transport == SipTransportKind.Tcp ? "tn" : "u1", "-max_socket", "1000",
                "-m", Calls.ToString(CultureInfo.InvariantCulture), "-r", Rate.ToString(CultureInfo.InvariantCulture), "-l", "100", "-d", "100",
                "-recv_timeout", "10000", "-timeout", "60s", "-nostdin",
                "-trace_err", "-error_file", _run.PathOf(name + "-errors.log"),
                "-trace_stat", "-stf", stat, "-fd", "1",
            ],
        });

        var exit = await sipp.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var counters = await LastStatisticsAsync(stat);
        TestContext.Out.WriteLine($"SIPp UAC → our UAS over {transport}: {counters.GetValueOrDefault("SuccessfulCall(C)")} successful, " +
            $"{counters.GetValueOrDefault("FailedCall(C)")} failed in {elapsed.TotalSeconds:F1} s; UAS {uas.Counters}");

        Assert.That(exit.ExitCode, Is.Zero, $"SIPp exit code 0 means every call succeeded; errors: {string.Join(" | ", ErrorLines(name))}");
        Assert.That(counters.GetValueOrDefault("SuccessfulCall(C)"), Is.EqualTo(Calls));
        Assert.That(counters.GetValueOrDefault("FailedCall(C)"), Is.Zero);
        Assert.That(uas.Counters.Invites, Is.EqualTo(Calls));
        Assert.That(uas.Counters.Answered, Is.EqualTo(Calls));
        Assert.That(uas.Counters.Byes, Is.EqualTo(Calls));
        Assert.That(uas.Counters.UnknownByes, Is.Zero);
        Assert.That(uas.Counters.ParseErrors, Is.Zero);
    }

    [TestCase(SipTransportKind.Udp)]
    [TestCase(SipTransportKind.Tcp)]
    public async Task Our_uac_calls_sipp_uas_and_every_call_completes(SipTransportKind transport)
    {
        var port = transport == SipTransportKind.Udp ? 15071 : 15072;
        var target = new IPEndPoint(TestAddresses.SippUas, port);
        var name = "sipp-uas-" + transport.ToString().ToLowerInvariant();
        var stat = _run.PathOf(name + "-stat.csv");
        var sipp = await _run.StartProcessAsync(new ProcessSpec(name, "sipp", "sip-tester")
        {
            Arguments =
            [
                "-sn", "uas", "-i", TestAddresses.SippUas.ToString(), "-p", port.ToString(CultureInfo.InvariantCulture),
                "-t", transport == SipTransportKind.Tcp ? "tn" : "u1", "-max_socket", "1000", "-nostdin",
                "-trace_err", "-error_file", _run.PathOf(name + "-errors.log"),
                "-trace_stat", "-stf", stat, "-fd", "1",
            ],
        });
        await WaitStrategy.Until($"SIPp UAS bound to {transport} {target}", _ => Task.FromResult(IsBound(target, transport)))
            .WithTimeout(TimeSpan.FromSeconds(10)).WaitAsync(sipp);

        await using var uac = new SipUserAgentClient(new SipUacOptions { UdpEndPoint = new IPEndPoint(TestAddresses.Uac, 0) });
        // SIPp's built-in UAS holds each call 4 s after the BYE (timewait) and fails it if its TCP connection closes then.
        var options = new CallOptions { Transport = transport, HoldTime = TimeSpan.FromMilliseconds(100), TcpCloseDelay = TimeSpan.FromSeconds(4.5) };
        var started = Stopwatch.GetTimestamp();
        var calls = new List<Task<CallRecord>>();
        for (var i = 0; i < Calls; i++)
        {
            // Open loop: each call starts on schedule whatever the earlier ones are doing.
            var due = TimeSpan.FromSeconds((double)i / Rate) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }

            calls.Add(uac.CallAsync(target, options with { LocalAddress = transport == SipTransportKind.Tcp ? TestAddresses.Source(i) : null }));
        }

        var records = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var answer = records.Where(record => record.TimeToAnswer is not null).Select(record => record.TimeToAnswer!.Value.TotalMilliseconds).Order().ToList();
        TestContext.Out.WriteLine($"our UAC → SIPp UAS over {transport}: {records.Count(record => record.Succeeded)}/{Calls} completed in {elapsed.TotalSeconds:F1} s " +
            $"({Calls / elapsed.TotalSeconds:F1} CPS); time to answer p50 {answer.ElementAtOrDefault(answer.Count / 2):F2} ms, max {answer.LastOrDefault():F2} ms");

        Assert.That(records.Where(record => !record.Succeeded).Select(record => $"{record.CallId}: {record.Outcome} {record.FailureReason}"), Is.Empty);
        Assert.That(records.Select(record => record.StatusCode), Is.All.EqualTo(200));
        Assert.That(records.Select(record => record.ByeStatusCode), Is.All.EqualTo(200));
        Assert.That(records.Select(record => record.CallId).Distinct().Count(), Is.EqualTo(Calls));

        // SIPp's own view: stop it with SIGUSR1 so it writes its last counters, then read them (docs/measured-facts.md,
        // "SIPp: one connection per call and stopping it").
        using (var kill = Process.Start("kill", ["-USR1", sipp.Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        var exit = await sipp.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        var counters = await LastStatisticsAsync(stat);
        TestContext.Out.WriteLine($"SIPp UAS exit {exit.ExitCode}: {counters.GetValueOrDefault("SuccessfulCall(C)")} successful, {counters.GetValueOrDefault("FailedCall(C)")} failed " +
            string.Join(", ", counters.Where(counter => counter.Key.StartsWith("Failed", StringComparison.Ordinal) && counter.Value > 0).Select(counter => $"{counter.Key}={counter.Value}")));
        Assert.That(exit.ExitCode, Is.Zero, "SIPp exits 0 when no call failed");
        Assert.That(counters.GetValueOrDefault("SuccessfulCall(C)"), Is.EqualTo(Calls), string.Join(" | ", ErrorLines(name)));
        Assert.That(counters.GetValueOrDefault("FailedCall(C)"), Is.Zero);
    }

    internal static bool IsBound(IPEndPoint endPoint, SipTransportKind transport)
    {
        if (transport == SipTransportKind.Tcp)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                client.Connect(endPoint);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            probe.Bind(endPoint);
            return false;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }

    private IEnumerable<string> ErrorLines(string name)
    {
        var path = _run.PathOf(name + "-errors.log");
        return File.Exists(path) ? File.ReadLines(path).Take(5).ToList() : [];
    }

    /// <summary>The last row of a SIPp -trace_stat CSV (';'-separated, header row first) as counter name → value.</summary>
    private static async Task<Dictionary<string, long>> LastStatisticsAsync(string path)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return result;
        }

        var lines = (await File.ReadAllLinesAsync(path)).Where(line => line.Length > 0).ToList();
        if (lines.Count < 2)
        {
            return result;
        }

        var names = lines[0].Split(';');
        var values = lines[^1].Split(';');
        for (var i = 0; i < Math.Min(names.Length, values.Length); i++)
        {
            if (long.TryParse(values[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                result[names[i]] = value;
            }
        }

        return result;
    }
}
