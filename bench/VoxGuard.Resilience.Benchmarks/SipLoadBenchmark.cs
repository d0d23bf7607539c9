using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>
/// The load generator against SIPp, in one run on this machine: both drive SIPp's UAS over UDP (INVITE, 100 ms hold,
/// BYE) at a rising rate for a few seconds each step; a rate is sustained when ≥ 99.9 % of its calls succeed and the
/// calls really started at that rate (≥ 98 %). Prints each step and the highest sustained rate of each.
/// </summary>
internal static class SipLoadBenchmark
{
    private const int UasPort = 5060;

    /// <summary>Where SIPp's UAS listens and each caller sends from (ours: four addresses from <c>OurCallers</c>).</summary>
    internal sealed record Addresses(IPAddress UasAddress, IPAddress SippCaller, IPAddress OurCallers)
    {
        /// <summary>127.0.181–183.x, what <c>./resilience bench sip</c> uses.</summary>
        public static Addresses Default { get; } = new(IPAddress.Parse("127.0.181.1"), IPAddress.Parse("127.0.182.1"), IPAddress.Parse("127.0.183.1"));

        /// <summary>Hosts .181 (UAS), .182 (SIPp), .183–.186 (ours) of a /24 block, e.g. the environment's primary region's.</summary>
        public static Addresses InBlock(IPAddress block)
        {
            var bytes = block.GetAddressBytes();
            IPAddress Host(byte host) => new([bytes[0], bytes[1], bytes[2], host]);
            return new(Host(181), Host(182), Host(183));
        }
    }

    /// <summary>The highest sustained rate of each (null: not even the first).</summary>
    internal sealed record Result(int? Ours, int? Sipp);

    public static async Task<Result> RunAsync(TimeSpan step, IReadOnlyList<int> rates, Addresses? addresses = null)
    {
        var (uasAddress, sippCaller, ourCallers) = addresses ?? Addresses.Default;
        await using var run = RunDirectory.Create();
        var uas = await run.StartProcessAsync(new ProcessSpec("sipp-uas", "sipp", "sip-tester")
        {
            Arguments = ["-sn", "uas", "-i", uasAddress.ToString(), "-p", UasPort.ToString(CultureInfo.InvariantCulture), "-t", "u1", "-nostdin", "-max_socket", "4000"],
        });
        await WaitStrategy.Until("SIPp UAS to bind", _ => Task.FromResult(IsUdpBound(new IPEndPoint(uasAddress, UasPort)))).WithTimeout(TimeSpan.FromSeconds(10)).WaitAsync(uas);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SIP load generators against SIPp's UAS (UDP, 100 ms hold), {step.TotalSeconds:F0} s per step, {Environment.ProcessorCount} cores"));
        Console.WriteLine($"  {"rate",6}  {"ours: ok %",11} {"CPS",8} {"p50 ms",7}   {"SIPp: ok %",11} {"CPS",8}");
        int? oursBest = null, sippBest = null;
        bool oursDone = false, sippDone = false;
        foreach (var rate in rates)
        {
            var ours = oursDone ? null : await OursAsync(uasAddress, ourCallers, rate, step);
            var sipp = sippDone ? null : await SippAsync(run, uasAddress, sippCaller, rate, step);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {rate,6}  {Cell(ours?.Success),11} {Cell(ours?.Cps, "F1"),8} {Cell(ours?.P50, "F1"),7}   {Cell(sipp?.Success),11} {Cell(sipp?.Cps, "F1"),8}"));
            if (ours is { } o && Sustained(o, rate))
            {
                oursBest = rate;
            }
            else
            {
                oursDone = true;
            }

            if (sipp is { } s && Sustained(s, rate))
            {
                sippBest = rate;
            }
            else
            {
                sippDone = true;
            }

            if (oursDone && sippDone)
            {
                break;
            }
        }

        var ratio = oursBest is { } a && sippBest is { } b ? string.Create(CultureInfo.InvariantCulture, $", ratio {(double)a / b:F2}") : string.Empty;
        Console.WriteLine($"  highest sustained rate (≥ 99.9 % success): ours {oursBest?.ToString(CultureInfo.InvariantCulture) ?? "none"} CPS, SIPp {sippBest?.ToString(CultureInfo.InvariantCulture) ?? "none"} CPS{ratio}");
        return new Result(oursBest, sippBest);
    }

    private sealed record StepResult(double Success, double Cps, double? P50);

    private static bool Sustained(StepResult result, int rate) => result.Success >= 99.9 && result.Cps >= rate * 0.98;

    private static async Task<StepResult> OursAsync(IPAddress uasAddress, IPAddress ourCallers, int rate, TimeSpan step)
    {
        var result = await OpenLoopLoad.RunAsync(new LoadProfile
        {
            Target = new IPEndPoint(uasAddress, UasPort),
            Transport = SipTransportKind.Udp,
            CallsPerSecond = rate,
            Duration = step,
            HoldTime = TimeSpan.FromMilliseconds(100),
            FirstSource = ourCallers,
            SourceCount = 4,
            AnswerTimeout = TimeSpan.FromSeconds(5),
        });
        var summary = result.Summarise();
        return new StepResult(summary.SuccessPercent, summary.AchievedCallsPerSecond, summary.SetupP50?.TotalMilliseconds);
    }

    private static async Task<StepResult> SippAsync(RunDirectory run, IPAddress uasAddress, IPAddress sippCaller, int rate, TimeSpan step)
    {
        var calls = (int)(rate * step.TotalSeconds);
        var name = $"sipp-uac-{rate}";
        var stat = run.PathOf(name + "-stat.csv");
        var started = Stopwatch.GetTimestamp();
        var sipp = await run.StartProcessAsync(new ProcessSpec(name, "sipp", "sip-tester")
        {
            Arguments =
            [
                $"{uasAddress}:{UasPort}", "-sn", "uac", "-i", sippCaller.ToString(), "-p", "5070", "-t", "u1",
                "-m", calls.ToString(CultureInfo.InvariantCulture), "-r", rate.ToString(CultureInfo.InvariantCulture), "-d", "100",
                "-recv_timeout", "5000", "-timeout", "120s", "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
            ],
        });
        await sipp.WaitForExitAsync();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds - 0.1; // the last call's hold
        var counters = SippStatistics.Last(stat);
        var successful = counters.GetValueOrDefault("SuccessfulCall(C)");
        return new StepResult(100.0 * successful / calls, calls / Math.Max(elapsed, step.TotalSeconds), null);
    }

    private static bool IsUdpBound(IPEndPoint endpoint)
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        try
        {
            probe.Bind(endpoint);
            return false;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return true;
        }
    }

    private static string Cell(double? value, string format = "F2") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
