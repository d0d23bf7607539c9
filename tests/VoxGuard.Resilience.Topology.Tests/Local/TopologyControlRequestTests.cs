using System.Diagnostics;
using System.Text.Json;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Local;

/// <summary>The control channel's requests, toxics as typed, answers and records: shapes checked before anything is sent.</summary>
[TestFixture]
public sealed class TopologyControlRequestTests
{
    [TestCase("kill")]
    [TestCase("crash")]
    [TestCase("heal")]
    [TestCase("pause")]
    [TestCase("resume")]
    [TestCase("rejoin")]
    public void A_region_action_with_a_region_is_valid(string action) =>
        Assert.DoesNotThrow(() => TopologyControlRequest.OnRegion(action, "abuja").Validate());

    [Test]
    public void Every_other_request_the_factories_build_is_valid() => Assert.Multiple(() =>
    {
        Assert.DoesNotThrow(() => TopologyControlRequest.Isolate("lagos", "blackhole").Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Isolate("lagos", "firewall").Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Drop("lagos", 0.3).Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Drop("lagos", 1, "udp", 5060).Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Shape("lagos-abuja-pg", [ToxicSpec.Latency(TimeSpan.FromMilliseconds(200))]).Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Unshape("lagos-abuja-pg").Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Failback().Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.Failback("abuja").Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.BackUp().Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.BackUp("redis", "incr", "repo2").Validate());
        Assert.DoesNotThrow(() => TopologyControlRequest.RestoreCopy("postgres", "repo2", "2026-12-04T14:05:00+01:00").Validate());
    });

    [TestCase("2026-12-04T13:05:00Z", "2026-12-04T13:05:00.0000000+00:00")]
    [TestCase("2026-12-04T14:05:00.25+01:00", "2026-12-04T13:05:00.2500000+00:00")]
    [TestCase("2026-12-04 13:05", "2026-12-04T13:05:00.0000000+00:00")]
    public void A_restore_target_time_is_iso_8601_and_utc_without_an_offset(string text, string utc) =>
        Assert.That(TopologyControlRequest.RestoreCopy(targetTime: text).ParsedTargetTime?.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(utc));

    [Test]
    public void A_malformed_backup_or_restore_names_every_problem_in_one_message() => Assert.Multiple(() =>
    {
        Assert.That(Assert.Throws<ArgumentException>(TopologyControlRequest.BackUp("mysql", "weekly", " ").Validate)!.Message, Is.EqualTo(
            "Invalid backup request: unknown store 'mysql' (known: postgres, redis, all); unknown backup type 'weekly' (known: full, incr, diff); backup needs a repository (e.g. repo1)."));
        Assert.That(Assert.Throws<ArgumentException>(TopologyControlRequest.RestoreCopy(targetTime: "12/04/2026").Validate)!.Message, Does.Contain(
            "target time '12/04/2026' is not an ISO 8601 time"));
        Assert.That(Assert.Throws<ArgumentException>((TopologyControlRequest.BackUp() with { TargetTime = "2026-12-04T13:05:00Z" }).Validate)!.Message, Does.Contain(
            "backup takes no target time"));
        Assert.That(Assert.Throws<ArgumentException>((TopologyControlRequest.Failback() with { Store = "redis" }).Validate)!.Message, Does.Contain("failback takes no store"));
    });

    [Test]
    public void A_request_names_every_problem_of_its_shape_in_one_message()
    {
        var request = new TopologyControlRequest(TopologyControlActions.Pause) { Link = "lagos-abuja-pg", Mode = "blackhole" };

        var error = Assert.Throws<ArgumentException>(request.Validate)!;

        Assert.That(error.Message, Is.EqualTo("Invalid pause request: pause needs a region; pause takes no link; pause takes no mode."));
    }

    [TestCase("explode", "abuja", null, "unknown action 'explode' (known: kill, crash, isolate, drop, heal, pause, resume, shape, unshape, rejoin, failback, backup, restore)")]
    [TestCase("kill", " ", null, "kill needs a region")]
    [TestCase("isolate", "lagos", "sideways", "mode 'sideways' must be cut, blackhole, firewall")]
    [TestCase("shape", null, null, "shape needs a link; shape needs at least one toxic")]
    [TestCase("unshape", "lagos", null, "unshape takes no region; unshape needs a link")]
    public void A_malformed_request_is_refused_with_its_problems(string action, string? region, string? mode, string problems)
    {
        var request = new TopologyControlRequest(action) { Region = region, Mode = mode };

        Assert.That(Assert.Throws<ArgumentException>(request.Validate)!.Message, Does.Contain(problems));
    }

    [Test]
    public void A_malformed_drop_names_every_problem_in_one_message() => Assert.Multiple(() =>
    {
        Assert.That(Assert.Throws<ArgumentException>(TopologyControlRequest.Drop("lagos", 1.5, "icmp", 70000).Validate)!.Message, Is.EqualTo(
            "Invalid drop request: protocol 'icmp' must be any, udp, tcp; probability 1.5 must be above 0 and at most 1 (0.3 drops 30 % of packets); port 70000 must be from 1 to 65535."));
        Assert.That(Assert.Throws<ArgumentException>(new TopologyControlRequest(TopologyControlActions.Drop) { Region = "lagos" }.Validate)!.Message, Does.Contain("drop needs a probability (e.g. 0.3)"));
        Assert.That(Assert.Throws<ArgumentException>((TopologyControlRequest.OnRegion("kill", "lagos") with { Probability = 0.3, Port = 5060 }).Validate)!.Message,
            Does.Contain("kill takes no probability; kill takes no port"));
    });

    [Test]
    public void A_drop_request_reads_as_the_loss_it_asks_for() => Assert.Multiple(() =>
    {
        Assert.That(TopologyControlRequest.Drop("lagos", 0.3, "udp", 5060).Loss, Is.EqualTo(new PacketLoss(0.3, PacketProtocol.Udp, 5060)));
        Assert.That(TopologyControlRequest.Drop("lagos", 0.3).Loss, Is.EqualTo(new PacketLoss(0.3)));
        Assert.That(TopologyControlRequest.Drop("lagos", 0.3, "udp", 5060).ToString(), Is.EqualTo("drop lagos 30 % of UDP packets to or from port 5060"));
    });

    [Test]
    public void A_request_without_an_action_says_so() =>
        Assert.That(Assert.Throws<ArgumentException>(new TopologyControlRequest(null!).Validate)!.Message, Does.StartWith("Invalid request: it names no action"));

    [Test]
    public void A_toxic_from_the_wire_is_checked_like_one_typed()
    {
        var request = TopologyControlRequest.Shape("lagos-abuja-pg",
        [
            new ToxicSpec("latency", new Dictionary<string, long> { ["latency"] = -5, ["rate"] = 1 }) { Stream = "sideways", Toxicity = 1.5 },
            new ToxicSpec("noop", new Dictionary<string, long>()),
            null!,
        ]);

        Assert.That(Assert.Throws<ArgumentException>(request.Validate)!.Message, Is.EqualTo(
            "Invalid shape request: latency latency -5 is negative; latency has no attribute 'rate' (it takes latency, jitter); " +
            "stream 'sideways' must be upstream or downstream; toxicity 1.5 must be from 0 to 1; " +
            "unknown toxic 'noop' (known: latency, bandwidth, timeout, slow_close, reset_peer, limit_data, slicer); a toxic is null."));
    }

    [Test]
    public void Isolation_mode_is_cut_unless_blackhole_is_asked_for() => Assert.Multiple(() =>
    {
        Assert.That(TopologyControlRequest.OnRegion("isolate", "lagos").IsolationMode, Is.EqualTo(IsolationMode.Cut));
        Assert.That(TopologyControlRequest.Isolate("lagos", "blackhole").IsolationMode, Is.EqualTo(IsolationMode.Blackhole));
        Assert.That(TopologyControlRequest.Isolate("lagos", "firewall").IsolationMode, Is.EqualTo(IsolationMode.Firewall));
    });

    [Test]
    public void A_request_survives_the_wire_with_its_toxics()
    {
        var request = TopologyControlRequest.Shape("lagos-abuja-pg",
            new ToxicArguments("latency") { Latency = "200ms", Jitter = "50ms", Stream = "both", Toxicity = "0.5" }.ToSpecs());

        var json = JsonSerializer.Serialize(request, TopologyControlJson.Options);
        var back = JsonSerializer.Deserialize<TopologyControlRequest>(json, TopologyControlJson.Options)!;

        Assert.Multiple(() =>
        {
            Assert.That(json, Does.Contain("\"action\":\"shape\"").And.Contain("\"link\":\"lagos-abuja-pg\""));
            Assert.That(back.Action, Is.EqualTo("shape"));
            Assert.That(back.Link, Is.EqualTo("lagos-abuja-pg"));
            Assert.That(back.Toxics!.Select(toxic => toxic.Stream), Is.EqualTo(new[] { "upstream", "downstream" }));
            Assert.That(back.Toxics!.All(toxic => toxic is { Type: "latency", Toxicity: 0.5 }), Is.True);
            Assert.That(back.Toxics![0].Attributes, Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 200, ["jitter"] = 50 }));
            Assert.DoesNotThrow(back.Validate);
        });
    }

    [TestCase("200ms", 200_000)]
    [TestCase("1.5s", 1_500_000)]
    [TestCase("500us", 500)]
    [TestCase("2m", 120_000_000)]
    [TestCase("250", 250_000)]
    public void A_duration_takes_a_unit_and_a_bare_number_is_milliseconds(string text, long microseconds) =>
        Assert.That(ToxicArguments.ParseDuration(text), Is.EqualTo(TimeSpan.FromMicroseconds(microseconds)));

    [TestCase("-5ms")]
    [TestCase("fast")]
    [TestCase("10 parsecs")]
    [TestCase("")]
    public void Anything_else_is_not_a_duration(string text) => Assert.That(ToxicArguments.ParseDuration(text), Is.Null);

    [Test]
    public void Every_toxic_kind_becomes_the_link_servers_toxic_with_its_main_attributes()
    {
        static IReadOnlyDictionary<string, long> Single(ToxicArguments arguments) => arguments.ToSpecs().Single().Attributes;

        Assert.Multiple(() =>
        {
            Assert.That(Single(new("latency") { Latency = "200ms", Jitter = "50ms" }), Is.EquivalentTo(new Dictionary<string, long> { ["latency"] = 200, ["jitter"] = 50 }));
            Assert.That(Single(new("bandwidth") { Rate = "64" }), Is.EquivalentTo(new Dictionary<string, long> { ["rate"] = 64 }));
            Assert.That(Single(new("timeout") { Timeout = "0" }), Is.EquivalentTo(new Dictionary<string, long> { ["timeout"] = 0 }));
            Assert.That(Single(new("slow_close") { Delay = "2s" }), Is.EquivalentTo(new Dictionary<string, long> { ["delay"] = 2000 }));
            Assert.That(Single(new("reset_peer") { Timeout = "100ms" }), Is.EquivalentTo(new Dictionary<string, long> { ["timeout"] = 100 }));
            Assert.That(Single(new("reset_peer")), Is.EquivalentTo(new Dictionary<string, long> { ["timeout"] = 0 }));
            Assert.That(Single(new("limit_data") { Bytes = "1000" }), Is.EquivalentTo(new Dictionary<string, long> { ["bytes"] = 1000 }));
            Assert.That(Single(new("slicer") { AverageSize = "64", SizeVariation = "16", Delay = "10us" }),
                Is.EquivalentTo(new Dictionary<string, long> { ["average_size"] = 64, ["size_variation"] = 16, ["delay"] = 10 }));
            Assert.That(new ToxicArguments("latency") { Latency = "1ms" }.ToSpecs().Single().Stream, Is.EqualTo("downstream"), "Toxiproxy's default stream");
        });
    }

    [Test]
    public void A_toxic_names_every_problem_in_one_message()
    {
        var arguments = new ToxicArguments("bandwidth") { Latency = "200ms", Stream = "sideways", Toxicity = "2" };

        var error = Assert.Throws<ArgumentException>(() => arguments.ToSpecs())!;

        Assert.That(error.Message, Is.EqualTo(
            "Invalid bandwidth toxic: --rate is required; --latency does not apply to bandwidth (it takes --rate); " +
            "--toxicity '2' must be a number from 0 to 1; --stream 'sideways' must be upstream, downstream or both."));
    }

    [TestCase("earthquake", "unknown toxic 'earthquake' (known: latency, bandwidth, timeout, slow_close, reset_peer, limit_data, slicer)")]
    [TestCase("latency", "--latency is required")]
    [TestCase("limit_data", "--bytes is required")]
    public void A_toxic_without_what_it_needs_is_refused(string kind, string problem) =>
        Assert.That(Assert.Throws<ArgumentException>(() => new ToxicArguments(kind).ToSpecs())!.Message, Does.Contain(problem));

    [TestCase("bandwidth", "-1", "--rate '-1' is not a whole number ≥ 0")]
    [TestCase("bandwidth", "1.5", "--rate '1.5' is not a whole number ≥ 0")]
    public void Rates_are_whole_numbers(string kind, string rate, string problem) =>
        Assert.That(Assert.Throws<ArgumentException>(() => new ToxicArguments(kind) { Rate = rate }.ToSpecs())!.Message, Does.Contain(problem));

    [Test]
    public void An_operation_is_reported_on_the_wall_clock_with_its_duration()
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var nowTimestamp = Stopwatch.GetTimestamp();
        var operation = new TopologyOperation("crash every process of abuja (network intact)",
            nowTimestamp - (Stopwatch.Frequency / 2), nowTimestamp - (Stopwatch.Frequency / 4));

        var report = OperationReport.From(operation, now, nowTimestamp);

        Assert.Multiple(() =>
        {
            Assert.That(report.What, Is.EqualTo(operation.What));
            Assert.That(report.StartedAt, Is.EqualTo(now.AddMilliseconds(-500)).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(report.VerifiedAt, Is.EqualTo(now.AddMilliseconds(-250)).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(report.DurationMs, Is.EqualTo(250).Within(1));
        });
    }

    [Test]
    public void A_record_written_before_the_control_channel_existed_still_reads()
    {
        using var run = RunDirectory.Create(new RunDirectoryOptions { Root = Path.Combine(Path.GetTempPath(), $"vgr-{Guid.NewGuid():N}"[..16]) });
        File.WriteAllText(run.PathOf(TopologyRecord.FileName),
            """{ "environment": "local", "profile": "ci", "source": "environments/local.yaml", "linkApi": "http://127.0.0.1:8474/" }""");

        var record = TopologyRecord.TryRead(run.Path);

        Assert.That(record, Is.EqualTo(new TopologyRecord("local", "ci", "environments/local.yaml", "http://127.0.0.1:8474/")));
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_record_with_the_control_channel_is_readable_by_its_owner_only()
    {
        using var run = RunDirectory.Create(new RunDirectoryOptions { Root = Path.Combine(Path.GetTempPath(), $"vgr-{Guid.NewGuid():N}"[..16]) });
        var record = new TopologyRecord("local", "ci", "environments/local.yaml", "http://127.0.0.1:8474/", "http://127.0.0.1:40123/", "secret");

        record.WriteTo(run);

        Assert.Multiple(() =>
        {
            Assert.That(TopologyRecord.TryRead(run.Path), Is.EqualTo(record));
            Assert.That(File.GetUnixFileMode(run.PathOf(TopologyRecord.FileName)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        });
    }

    [Test]
    public void The_run_root_variable_moves_the_default_root_only_to_an_absolute_path()
    {
        var before = System.Environment.GetEnvironmentVariable(RunDirectory.RunRootVariable);
        try
        {
            System.Environment.SetEnvironmentVariable(RunDirectory.RunRootVariable, "/dev/shm/vgr-elsewhere");
            var moved = RunDirectory.DefaultRoot;
            System.Environment.SetEnvironmentVariable(RunDirectory.RunRootVariable, "relative/root");
            var ignored = RunDirectory.DefaultRoot;

            Assert.Multiple(() =>
            {
                Assert.That(moved, Is.EqualTo("/dev/shm/vgr-elsewhere"));
                Assert.That(ignored, Is.EqualTo(RunDirectory.DefaultRootFor(Directory.Exists("/dev/shm"))));
            });
        }
        finally
        {
            System.Environment.SetEnvironmentVariable(RunDirectory.RunRootVariable, before);
        }
    }
}
