using System.Net;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>
/// A game day by hand: <c>fault …</c> from another shell on the topology <c>up</c> serves, through its control channel,
/// as an operator runs it. One topology for the fixture (ci profile, SIPp engines), environments/local.yaml moved to
/// blocks 127.0.21–23.x (balancer 127.0.0.21) and the tests' own run root, so nobody else's topology is seen or touched.
/// The tests run in order: each leaves the topology as the next expects it, the last stops it.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class FaultCommandTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private string _environmentFile = null!;
    private CliProcess _up = null!;
    private Uri _control = null!;
    private string _token = null!;
    private Uri _linkApi = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _environmentFile = EnvironmentFile.WriteInBlocks(21, 21);
        _up = await CliProcess.StartUpAsync(_environmentFile, StartTimeout, "--engine", "sipp");
        var record = Directory.EnumerateFiles(CliProcess.RunRoot, "topology.json", SearchOption.AllDirectories).Single();
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(record));
        _control = new Uri(json.RootElement.GetProperty("control").GetString()!);
        _token = json.RootElement.GetProperty("controlToken").GetString()!;
        _linkApi = new Uri(json.RootElement.GetProperty("linkApi").GetString()!);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await CliProcess.DownAsync(_up);
        File.Delete(_environmentFile);
    }

    [Test]
    [Order(1)]
    public async Task Crash_kills_every_process_of_the_region_and_status_shows_it_down()
    {
        var crash = await CliProcess.RunAsync("fault", "crash", "abuja");
        var status = await CliProcess.RunAsync("status");
        // Abuja's etcd member may have been etcd's leader: until the two left elect another, Lagos's Patroni cannot
        // renew its key, and with the ci profile's 3 s retry_timeout it may demote and retake the lead (seen in CI:
        // "leader stopping"). That is the system's own recovery, not the crash reaching Lagos; it must settle by itself,
        // and Asaba with it (the next test judges Asaba's rows).
        var lagosSettled = await UntilEveryRowRunsAsync("lagos", TimeSpan.FromSeconds(60));
        var asabaSettled = await UntilEveryRowRunsAsync("asaba", TimeSpan.FromSeconds(30));
        // The servers' own word, read from their logs: the balancer's health check took abuja out (within its
        // fall × interval, a second or two, long passed by now).
        var said = await UntilStatusSaysAsync("sip-balancer: balancer marked abuja DOWN", TimeSpan.FromSeconds(15));

        Assert.Multiple(() =>
        {
            Assert.That(said, Does.Match(@"What the servers said \(their latest \d+ of \d+ events, UTC\):\n(  \d\d:\d\d:\d\d\.\d{3}  \S+: .+\n)*  \d\d:\d\d:\d\d\.\d{3}  sip-balancer: balancer marked abuja DOWN\n"));
            Assert.That(crash.ExitCode, Is.Zero, crash.Error);
            Assert.That(crash.Output, Does.StartWith("crash abuja: done and verified."));
            Assert.That(crash.Output, Does.Match(@"\d\d:\d\d:\d\d\.\d{3} → \d\d:\d\d:\d\d\.\d{3} UTC +\d+ ms  crash every process of abuja \(network intact\)"));
            Assert.That(RowsOf(status.Output, "abuja"), Has.Count.EqualTo(7).And.All.Contain(" down "), status.Output);
            Assert.That(RowsOf(status.Output, "lagos"), Has.Count.EqualTo(7).And.None.Contain(" down "), "the crash stayed in abuja: " + status.Output);
            Assert.That(lagosSettled, Has.All.Contain(" running"), "Lagos settles without help");
            Assert.That(asabaSettled, Has.All.Contain(" running"), "Asaba settles without help");
            Assert.That(_up.Output, Does.Contain("control: crash abuja done"));
        });
    }

    [Test]
    [Order(2)]
    public async Task A_region_already_down_is_refused_with_one_message_and_nothing_changes()
    {
        var kill = await CliProcess.RunAsync("fault", "kill", "abuja");
        var isolate = await CliProcess.RunAsync("fault", "isolate", "abuja");
        var pause = await CliProcess.RunAsync("fault", "pause", "abuja");
        var status = await CliProcess.RunAsync("status");

        Assert.Multiple(() =>
        {
            foreach (var refused in new[] { kill, isolate, pause })
            {
                Assert.That(refused.ExitCode, Is.EqualTo(2));
                Assert.That(refused.Error.Trim(), Does.StartWith("abuja is already down: every process of it has exited. Nothing was done.")
                    .And.Contain("./resilience rejoin abuja").And.Not.Contain("\n"));
                Assert.That(refused.Output, Is.Empty);
            }

            Assert.That(status.ExitCode, Is.Zero, "up still serves");
            Assert.That(RowsOf(status.Output, "asaba"), Has.All.Contain(" running"), status.Output);
        });
    }

    [Test]
    [Order(3)]
    public async Task An_unknown_region_or_link_is_refused_naming_what_exists()
    {
        var region = await CliProcess.RunAsync("fault", "kill", "tokyo");
        var failback = await CliProcess.RunAsync("failback", "--region", "tokyo");
        var link = await CliProcess.RunAsync("fault", "shape", "lagos-tokyo-pg", "--toxic", "latency", "--latency", "200ms");

        Assert.Multiple(() =>
        {
            Assert.That(region.ExitCode, Is.EqualTo(2));
            Assert.That(region.Error.Trim(), Is.EqualTo("Unknown region 'tokyo': the local topology has lagos, abuja, asaba. Nothing was done."));
            Assert.That(failback.ExitCode, Is.EqualTo(2));
            Assert.That(failback.Error, Does.Contain("Unknown region 'tokyo'"));
            Assert.That(link.ExitCode, Is.EqualTo(2));
            Assert.That(link.Error, Does.Contain("Unknown link 'lagos-tokyo-pg'. Links are named <from>-<to>-<service>, e.g. lagos-abuja-")
                .And.Contain("54 in all").And.Contain($"curl -s {_linkApi}proxies").And.Contain("./resilience status"));
        });
    }

    [Test]
    [Order(4)]
    public async Task Shape_adds_the_toxic_to_the_link_and_unshape_removes_it()
    {
        using var links = new LinkClient(_linkApi);

        var shape = await CliProcess.RunAsync("fault", "shape", "lagos-asaba-pg", "--toxic", "latency", "--latency", "200ms", "--jitter", "50ms");
        var shaped = await links.GetToxicsAsync("lagos-asaba-pg");
        var bandwidth = await CliProcess.RunAsync("fault", "shape", "lagos-asaba-pg", "--toxic", "bandwidth", "--rate", "64", "--stream", "upstream");
        var unshape = await CliProcess.RunAsync("fault", "unshape", "lagos-asaba-pg");
        var unshaped = await links.GetToxicsAsync("lagos-asaba-pg");

        Assert.Multiple(() =>
        {
            Assert.That(shape.ExitCode, Is.Zero, shape.Error);
            Assert.That(shape.Output, Does.Contain("shape lagos-asaba-pg: latency latency_downstream"));
            Assert.That(shaped.Single(toxic => toxic.Name == "latency_downstream").Attributes,
                Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 200, ["jitter"] = 50 }));
            Assert.That(bandwidth.ExitCode, Is.Zero, bandwidth.Error);
            Assert.That(unshape.ExitCode, Is.Zero, unshape.Error);
            Assert.That(unshape.Output, Does.Contain("unshape lagos-asaba-pg: removed ").And.Contain("latency_downstream").And.Contain("bandwidth_upstream"));
            Assert.That(unshaped.Select(toxic => toxic.Name), Has.All.StartWith("region-latency"), "the documented latency stays");
        });
    }

    [Test]
    [Order(5)]
    public async Task Pause_and_resume_a_region_and_refuse_what_does_not_apply()
    {
        var resumeRunning = await CliProcess.RunAsync("fault", "resume", "asaba", "--json");
        var pause = await CliProcess.RunAsync("fault", "pause", "asaba");
        var paused = await CliProcess.RunAsync("status");
        var pauseAgain = await CliProcess.RunAsync("fault", "pause", "asaba");
        var asked = DateTimeOffset.UtcNow;
        var resume = await CliProcess.RunAsync("fault", "resume", "asaba", "--json");
        var answered = DateTimeOffset.UtcNow;
        var resumed = await CliProcess.RunAsync("status");
        var refusal = JsonSerializer.Deserialize<TopologyControlResponse>(resumeRunning.Output, TopologyControlJson.Options)!;
        var done = JsonSerializer.Deserialize<TopologyControlResponse>(resume.Output, TopologyControlJson.Options)!;

        Assert.Multiple(() =>
        {
            Assert.That(resumeRunning.ExitCode, Is.EqualTo(2));
            Assert.That(resumeRunning.Error, Does.Contain("asaba is not paused"));
            Assert.That(refusal.Ok, Is.False, "--json prints a refusal as the channel's answer too");
            Assert.That(refusal.Error, Does.Contain("asaba is not paused"));
            Assert.That(refusal.Operations, Is.Empty);
            Assert.That(done.Ok, Is.True, resume.Output);
            Assert.That(done.Operations.Single().What, Does.StartWith("resume every process of asaba"));
            Assert.That(done.Operations.Single().StartedAt, Is.InRange(asked, done.Operations.Single().VerifiedAt), "times with their date, to the millisecond");
            Assert.That(done.Operations.Single().VerifiedAt, Is.LessThanOrEqualTo(answered));
            Assert.That(pause.ExitCode, Is.Zero, pause.Error);
            Assert.That(pause.Output, Does.Contain("pause every process of asaba (SIGSTOP)"));
            Assert.That(RowsOf(paused.Output, "asaba").Where(row => !row.Contains(" sentinel ", StringComparison.Ordinal) && !row.Contains(" redis ", StringComparison.Ordinal)),
                Has.All.Contain(" paused "), paused.Output);
            Assert.That(pauseAgain.ExitCode, Is.EqualTo(2));
            Assert.That(pauseAgain.Error, Does.Contain("asaba is already paused"));
            Assert.That(resume.ExitCode, Is.Zero, resume.Error);
            Assert.That(RowsOf(resumed.Output, "asaba"), Has.None.Contain(" paused "), resumed.Output);
        });
    }

    [Test]
    [Order(6)]
    public async Task Isolate_is_refused_twice_and_heal_is_idempotent()
    {
        var isolate = await CliProcess.RunAsync("fault", "isolate", "lagos", "--mode", "blackhole");
        var isolateAgain = await CliProcess.RunAsync("fault", "isolate", "lagos");
        var heal = await CliProcess.RunAsync("fault", "heal", "lagos");
        var healAgain = await CliProcess.RunAsync("fault", "heal", "lagos");
        // With Abuja crashed (Order 1), Lagos and Asaba alone hold etcd's quorum: even this short blackhole can leave
        // Lagos's Patroni without it for retry_timeout, and it then demotes Lagos and promotes it again once etcd is
        // back (seen in 2 of 8 runs). The topology recovers by itself; the next tests start from that recovery.
        var settled = await UntilEveryRowRunsAsync("lagos", TimeSpan.FromSeconds(60));

        Assert.Multiple(() =>
        {
            Assert.That(settled, Has.All.Contain(" running"), "lagos back to running by itself after the heal");
            Assert.That(isolate.ExitCode, Is.Zero, isolate.Error);
            Assert.That(isolate.Output, Does.Contain("isolate lagos (blackhole)"));
            Assert.That(isolateAgain.ExitCode, Is.EqualTo(2));
            Assert.That(isolateAgain.Error, Does.Contain("lagos is already isolated").And.Contain("./resilience fault heal lagos"));
            Assert.That(heal.ExitCode, Is.Zero, heal.Error);
            Assert.That(heal.Output, Does.Not.Contain("note:"));
            Assert.That(healAgain.ExitCode, Is.Zero, healAgain.Error);
            Assert.That(healAgain.Output, Does.Contain("note: lagos was not isolated"));
        });
    }

    [TestCase(new[] { "fault", "shape", "lagos-asaba-pg", "--toxic", "bandwidth", "--latency", "3" }, "Invalid bandwidth toxic: --rate is required; --latency does not apply to bandwidth")]
    [TestCase(new[] { "fault", "shape", "lagos-asaba-pg", "--toxic", "latency", "--latency", "soon" }, "--latency 'soon' is not a duration")]
    [TestCase(new[] { "fault", "isolate", "lagos", "--mode", "sideways" }, "mode 'sideways' must be cut, blackhole, firewall")]
    [TestCase(new[] { "fault", "kill" }, "Required argument missing")]
    [Order(7)]
    public async Task A_bad_command_line_changes_nothing_and_exits_2(string[] arguments, string error)
    {
        var requestsBefore = RequestsServed();

        var result = await CliProcess.RunAsync(arguments);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Error, Does.Contain(error));
            Assert.That(RequestsServed(), Is.EqualTo(requestsBefore), "refused before it reached the topology");
        });
    }

    [Test]
    [Order(7)]
    public async Task Backup_and_restore_say_how_to_turn_backups_on_when_the_environment_runs_none()
    {
        var backup = await CliProcess.RunAsync("backup");
        var restore = await CliProcess.RunAsync("restore");

        Assert.Multiple(() =>
        {
            Assert.That(backup.ExitCode, Is.EqualTo(2));
            Assert.That(backup.Error.Trim(), Does.StartWith("This topology runs without backups: the backups section of ")
                .And.EndWith("is missing or says enabled: false. Nothing was backed up. Set backups.enabled: true there and start the topology again (./resilience down, then ./resilience up)."));
            Assert.That(restore.ExitCode, Is.EqualTo(2));
            Assert.That(restore.Error, Does.Contain("Nothing was restored."));
        });
    }

    [Test]
    [Order(7)]
    public async Task Packet_filter_faults_on_loopback_say_they_need_containers_and_change_nothing()
    {
        // Lagos may still be finishing Order 6's recovery (Patroni restarts PostgreSQL after regaining etcd): start
        // from every row running, and allow it to end after; a filter wrongly applied would not undo itself.
        await UntilEveryRowRunsAsync("lagos", TimeSpan.FromSeconds(60));
        var drop = await CliProcess.RunAsync("fault", "drop", "lagos", "--probability", "0.3", "--protocol", "udp", "--port", "5060");
        var firewall = await CliProcess.RunAsync("fault", "isolate", "lagos", "--mode", "firewall");
        var lagosRows = await UntilEveryRowRunsAsync("lagos", TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(drop.ExitCode, Is.EqualTo(2));
            Assert.That(drop.Error, Does.Contain("lagos has no network namespace of its own").And.Contain("hosts: containers (--env containers)").And.Contain("Nothing was done."));
            Assert.That(firewall.ExitCode, Is.EqualTo(2));
            Assert.That(firewall.Error, Does.Contain("--mode cut or blackhole"));
            Assert.That(lagosRows, Has.All.Contain(" running"), "nothing changed");
        });
    }

    [Test]
    [Order(8)]
    public async Task The_control_channel_answers_only_loopback_requests_carrying_its_token()
    {
        using var http = new HttpClient { BaseAddress = _control };
        using var noToken = await http.PostAsync("requests", Json("""{"action":"crash","region":"lagos"}"""));
        using var get = await http.GetAsync("requests");
        using var garbage = await SendWithTokenAsync(http, "not json");
        using var refused = await SendWithTokenAsync(http, """{"action":"crash","region":"nowhere"}""");
        using var refusedBody = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        var status = await CliProcess.RunAsync("status");

        Assert.Multiple(() =>
        {
            Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
            Assert.That(garbage.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(refusedBody.RootElement.GetProperty("ok").GetBoolean(), Is.False);
            Assert.That(refusedBody.RootElement.GetProperty("error").GetString(), Does.StartWith("Unknown region 'nowhere'"));
            Assert.That(RowsOf(status.Output, "lagos"), Has.All.Contain(" running"), "nothing was crashed");
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.0.2"), _control.Port)), Is.False, "bound to 127.0.0.1 only");
        });
    }

    [Test]
    [Order(9)]
    public async Task Down_stops_the_topology_and_its_control_channel_leaving_nothing_behind()
    {
        var down = await CliProcess.RunAsync("down");
        var upExit = await _up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var fault = await CliProcess.RunAsync("fault", "crash", "lagos");

        Assert.Multiple(() =>
        {
            Assert.That(down.ExitCode, Is.Zero, down.Error);
            Assert.That(down.Output, Does.Contain("1 running topology stopped"));
            Assert.That(upExit, Is.Zero);
            Assert.That(_up.Output, Does.Contain("no process, port or directory left"));
            Assert.That(fault.ExitCode, Is.EqualTo(2));
            Assert.That(fault.Error.Trim(), Is.EqualTo("No topology is up. Start one with ./resilience up [--env local] [--profile ci]."));
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Loopback, _control.Port)), Is.False);
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.21.4"), 5432)), Is.False);
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.0.21"), 5060)), Is.False);
            Assert.That(Directory.Exists(CliProcess.RunRoot) && Directory.EnumerateFileSystemEntries(CliProcess.RunRoot).Any(), Is.False, "no run directory left");
        });
    }

    /// <summary>The status table's rows of one region.</summary>
    /// <summary>The region's status rows once every one of them says running, or the last ones seen after <paramref name="timeout"/>.</summary>
    private static async Task<List<string>> UntilEveryRowRunsAsync(string region, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var rows = RowsOf((await CliProcess.RunAsync("status")).Output, region);
            if ((rows.Count > 0 && rows.All(row => row.Contains(" running", StringComparison.Ordinal))) || DateTime.UtcNow > deadline)
            {
                return rows;
            }

            await Task.Delay(500);
        }
    }

    /// <summary>status's output once it says <paramref name="text"/>, or the last one at <paramref name="timeout"/>.</summary>
    private static async Task<string> UntilStatusSaysAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var output = (await CliProcess.RunAsync("status")).Output.Replace("\r", string.Empty, StringComparison.Ordinal);
            if (output.Contains(text, StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return output;
            }

            await Task.Delay(500);
        }
    }

    private static List<string> RowsOf(string status, string region) =>
        [.. status.Split('\n').Where(line => line.TrimStart().StartsWith(region + " ", StringComparison.Ordinal))];

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<HttpResponseMessage> SendWithTokenAsync(HttpClient http, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "requests") { Content = Json(body) };
        request.Headers.Add("X-VoxGuard-Control-Token", _token);
        return await http.SendAsync(request);
    }

    /// <summary>How many requests up has logged as answered.</summary>
    private int RequestsServed() => _up.Output.Split('\n').Count(line => line.Contains("  control: ", StringComparison.Ordinal));
}
