using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary><c>load</c>: open-loop SIP calls at a set rate, with live progress and a summary table.</summary>
internal static class LoadCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "Where calls go (address:port, loopback), e.g. the balancer 127.0.0.10:5060.", DefaultValueFactory = _ => "127.0.0.10:5060" };
        var cps = new Option<double>("--cps") { Description = "Calls started per second (open loop).", DefaultValueFactory = _ => 50 };
        var duration = new Option<string>("--duration") { Description = "How long calls keep starting, e.g. 30s, 5min.", DefaultValueFactory = _ => "10s" };
        var ramp = new Option<string>("--ramp") { Description = "Linear ramp from 0 to the rate at the start, e.g. 5s.", DefaultValueFactory = _ => "0s" };
        var hold = new Option<string>("--hold") { Description = "How long each answered call is held before the BYE.", DefaultValueFactory = _ => "1s" };
        var transport = new Option<string>("--transport") { Description = "tcp (one connection per call, as HAProxy balances) or udp.", DefaultValueFactory = _ => "tcp" };
        var sources = new Option<string>("--sources") { Description = "Source addresses: first/count, e.g. 127.0.100.1/50.", DefaultValueFactory = _ => "127.0.100.1/50" };
        var command = new Command("load", "Drive open-loop SIP load (INVITE, hold, BYE) at a set rate and print calls, success, per-region share and setup times.")
        {
            target, cps, duration, ramp, hold, transport, sources,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var problems = new List<string>();
            if (!IPEndPoint.TryParse(parseResult.GetValue(target)!, out var endpoint) || endpoint.Port == 0)
            {
                problems.Add($"--target '{parseResult.GetValue(target)}' is not an address:port");
            }

            var (durationValue, rampValue, holdValue) = (Duration(duration), Duration(ramp), Duration(hold));
            TimeSpan? Duration(Option<string> option)
            {
                if (DurationText.TryParse(parseResult.GetValue(option), out var value))
                {
                    return value;
                }

                problems.Add($"{option.Name} '{parseResult.GetValue(option)}' is not a duration (e.g. 500ms, 10s, 5min)");
                return null;
            }

            var transportValue = parseResult.GetValue(transport) switch
            {
                "tcp" => SipTransportKind.Tcp,
                "udp" => SipTransportKind.Udp,
                var other => Refuse($"--transport '{other}' must be tcp or udp"),
            };
            SipTransportKind Refuse(string problem)
            {
                problems.Add(problem);
                return SipTransportKind.Tcp;
            }

            var sourceParts = parseResult.GetValue(sources)!.Split('/');
            if (sourceParts.Length != 2 || !IPAddress.TryParse(sourceParts[0], out var firstSource) || !int.TryParse(sourceParts[1], CultureInfo.InvariantCulture, out var sourceCount))
            {
                problems.Add($"--sources '{parseResult.GetValue(sources)}' must be first-address/count, e.g. 127.0.100.1/50");
                firstSource = IPAddress.Loopback;
                sourceCount = 1;
            }

            if (problems.Count > 0)
            {
                await Console.Error.WriteLineAsync("Invalid load: " + string.Join("; ", problems) + ".").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            var profile = new LoadProfile
            {
                Target = endpoint!,
                CallsPerSecond = parseResult.GetValue(cps),
                Duration = durationValue!.Value,
                Ramp = rampValue!.Value,
                HoldTime = holdValue!.Value,
                Transport = transportValue,
                FirstSource = firstSource,
                SourceCount = sourceCount,
            };
            if (profile.Problems() is { } invalid)
            {
                await Console.Error.WriteLineAsync(invalid).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Load: {profile.PlannedCalls} calls to {profile.Target} over {transportValue.ToString().ToUpperInvariant()}, {profile.CallsPerSecond} CPS for {DurationText.Format(profile.Duration)} (ramp {DurationText.Format(profile.Ramp)}), hold {DurationText.Format(profile.HoldTime)}, from {profile.SourceCount} source addresses — Ctrl-C stops starting calls."));
            var dropsBefore = KernelDropCounters.Read();
            var cpuBefore = HostCpuTimes.Read();
            var result = await OpenLoopLoad.RunAsync(profile, progress => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {progress.Elapsed.TotalSeconds,6:F1} s  started {progress.Started,7}/{progress.Planned}  ended {progress.Completed,7}  ok {(progress.Completed == 0 ? 100 : 100.0 * progress.Succeeded / progress.Completed),6:F2} %  in flight {progress.InFlight,5}")),
                cancellationToken).ConfigureAwait(false);
            Console.Write(Render(result.Summarise(), result.Cancelled, KernelDropCounters.DroppedSince(dropsBefore), result.Cost, HostCpuTimes.SharedSince(cpuBefore)));
            return ExitCodes.Success;
        });
        return command;
    }

    internal static string Render(LoadSummary summary, bool cancelled, KernelDropCounters? drops = null, GeneratorCost? generator = null, HostCpuShare? host = null)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        static string Ms(TimeSpan? value) => value is { } v ? v.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture) + " ms" : "-";
        text.AppendLine(cancelled ? "Summary (stopped early):" : "Summary:");
        text.AppendLine(culture, $"  calls              {summary.Calls}");
        text.AppendLine(culture, $"  succeeded          {summary.Succeeded} ({summary.SuccessPercent:F2} %)");
        text.AppendLine(culture, $"  achieved rate      {summary.AchievedCallsPerSecond:F1} CPS");
        text.AppendLine(culture, $"  setup time         p50 {Ms(summary.SetupP50)}, p99 {Ms(summary.SetupP99)}, max {Ms(summary.SetupMax)}");
        foreach (var share in summary.Regions)
        {
            var firstResponse = share.FirstResponse is { } first ? $", first response p50 {Ms(first.P50)} / p99 {Ms(first.P99)}" : "";
            text.AppendLine(culture, $"  region {share.Region,-11} {share.Answered,7} answered ({share.Percent:F1} %)  setup p50 {Ms(share.Setup.P50)} / p99 {Ms(share.Setup.P99)}{firstResponse}");
        }

        foreach (var failure in summary.Failures.OrderByDescending(pair => pair.Value))
        {
            var (reason, calls) = summary.CommonestReasons[failure.Key];
            text.AppendLine(culture, $"  failed: {failure.Key,-18} {failure.Value,7}   commonest: {reason} ({calls})");
        }

        if (summary.InviteSendDelay is { } beforeInvite && summary.AnswerResumeDelay is { } afterAnswer)
        {
            // Both are inside the setup times above: what the generator (and, before the INVITE, the connect) added.
            text.AppendLine(culture, $"  generator's share  INVITE sent p50 {Ms(beforeInvite.P50)} / p99 {Ms(beforeInvite.P99)} after the call started (TCP connect included), 2xx taken up p50 {Ms(afterAnswer.P50)} / p99 {Ms(afterAnswer.P99)} after it was read; both count in the setup times");
        }

        if (summary.StartLateness is { } late)
        {
            // Before a call's clock starts, so not in its setup time: how far the open-loop schedule slipped.
            text.AppendLine(culture, $"  schedule           calls started p50 {Ms(late.P50)} / p99 {Ms(late.P99)} / max {Ms(late.Max)} after their due time (not in the setup times)");
        }

        if (generator is not null)
        {
            // The generator stamps every answer: its own pauses are latency it adds, and a generator near a full core
            // is the limit, not the system under test.
            text.AppendLine(culture, $"  generator          CPU {generator.Cpu.TotalSeconds:F1} s ({generator.CpuPercentOfCore:F0} % of a core), paused by its GC {generator.GcPause.TotalMilliseconds:F0} ms ({generator.PausedPercent:F1} % of the run, {generator.Collections} collections)");
        }

        if (host is { } cpu)
        {
            // Whole host, the load's own processes included: near-full cores or a hypervisor taking its share make the
            // setup times a measure of the queue for a core, so a figure near the goal is read with this line.
            text.AppendLine(culture, $"  host CPU           {cpu.BusyPercent:F0} % busy (every process), {cpu.StolenPercent:F1} % taken by the hypervisor (steal), over the run");
            if (cpu.Saturated)
            {
                text.AppendLine("  note: the cores were nearly full; the setup times above include waiting for a core (repeat the run, or lower the rate, before reading a tail percentile)");
            }
        }

        if (drops is { } dropped)
        {
            // Host-wide: any other traffic's drops count too, so a nonzero figure says where to look, not whose.
            text.AppendLine(culture, $"  kernel drops       {dropped.UdpReceiveBufferErrors} UDP datagrams (full receive buffer), {dropped.TcpListenOverflows} TCP connections (full listen queue), whole host during the run");
            if (!dropped.IsZero)
            {
                text.AppendLine("  warning: packets were dropped before any server read them; the setup times above include the retransmissions that replaced them (a server's buffer or queue is too small for this rate)");
            }
        }

        return text.ToString();
    }
}
