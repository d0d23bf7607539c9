using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Drills.Tests;

/// <summary>
/// <see cref="ScenarioRun"/>'s pollers and write accounting against one real topology with the ACM engines (ci profile),
/// started once for the fixture. The tests run in order: steady state, load and its accounting, a mutation of the
/// stores that the accounting must catch, the report, then the loss of Lagos — which the harness only injects and
/// the servers recover from by themselves while the tests watch the pollers' timeline. Blocks 127.0.181–183.x,
/// balancer 127.0.0.181.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class ScenarioRunTests
{
    private const string Lost = "lagos";
    private static readonly EnvironmentDefinition Environment = EnvironmentLoader.Parse(LocalEnvironmentInBlocks.Yaml(181, 181), "local-in-181.yaml", "ci");
    private static readonly TimeSpan PollerBound = TimeSpan.FromSeconds(5);
    private static readonly string[] Survivors = ["abuja", "asaba"];

    private readonly string _reportDirectory = Path.Combine(Path.GetTempPath(), $"vgr-drills-report-{System.Environment.ProcessId}");
    private readonly Dictionary<WriteStore, IReadOnlyList<string>> _deleted = [];
    private ScenarioRun _run = null!;
    private LoadResult? _load;
    private FaultMarker? _fault;

    [OneTimeSetUp]
    public async Task StartAsync() => _run = await ScenarioRun.StartAsync("scenario-run-tests", Environment);

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_run is not null)
        {
            var runDirectory = _run.Topology.Run.Path;
            await _run.DisposeAsync();
            Assert.That(Directory.Exists(runDirectory), Is.False, "disposing the run removes its run directory");
        }

        if (Directory.Exists(_reportDirectory))
        {
            Directory.Delete(_reportDirectory, recursive: true);
        }
    }

    [Test]
    [Order(1)]
    public async Task The_role_poller_sees_lagos_as_primary_of_both_stores_and_abuja_and_asaba_as_replicas()
    {
        await ObserveAsync("every node's role polled twice", () => Stores.All(store =>
            _run.RolesOf(store).GroupBy(role => role.Node).Count(node => node.Count() >= 2) == Environment.Regions.Count));

        Assert.Multiple(() =>
        {
            foreach (var store in Stores)
            {
                var roles = _run.RolesOf(store);
                Assert.That(roles.Select(role => role.Node).Distinct(), Is.EquivalentTo(Environment.Regions.Select(region => region.Name)), $"{store}: every node polled");
                Assert.That(roles.Last(role => role.Node == Lost).ClaimsPrimary, Is.True, $"{store}: lagos answers as primary");
                Assert.That(roles.Where(role => role.Node != Lost).Select(role => role.ClaimsPrimary), Is.All.False, $"{store}: abuja and asaba never claim to be primary");
                // A poll that times out on a busy machine would show as "unreachable"; never as another role.
                Assert.That(States($"{store.ToString().ToLowerInvariant()}/{Lost}"), Has.None.EqualTo("standby").And.None.EqualTo("replica"), $"{store}: lagos never answered as a replica");
            }

            Assert.That(FirstState("postgres/lagos"), Is.EqualTo("primary"));
            Assert.That(FirstState("postgres/abuja"), Is.EqualTo("standby"));
            Assert.That(FirstState("postgres/asaba"), Is.EqualTo("standby"));
            Assert.That(FirstState("redis/lagos"), Is.EqualTo("primary"));
            Assert.That(FirstState("redis/abuja"), Is.EqualTo("replica"));
            Assert.That(FirstState("redis/asaba"), Is.EqualTo("replica"));
        });
    }

    [Test]
    [Order(1)]
    public async Task The_balancer_poller_records_every_region_up_from_the_start()
    {
        await ObserveAsync("a balancer state of every region", () => Environment.Regions.All(region => FirstState($"balancer/{region.Name}") is not null));

        Assert.That(Environment.Regions.Select(region => FirstState($"balancer/{region.Name}")), Is.All.EqualTo("UP"));
    }

    [Test]
    [Order(2)]
    public async Task Every_write_acknowledged_under_load_is_read_back_from_the_primaries_of_both_stores()
    {
        _load = await _run.StartLoad(callsPerSecond: 20, duration: TimeSpan.FromSeconds(2), hold: TimeSpan.FromMilliseconds(200));
        var answered = _load.Calls.Count(call => call.Succeeded);
        var postgres = await _run.AccountAsync(WriteStore.Postgres, _run.Now);
        var redis = await _run.AccountAsync(WriteStore.Redis, _run.Now);
        TestContext.Out.WriteLine($"{answered} of {_load.Calls.Count} calls answered; acknowledged: postgres {postgres.Acknowledged}, redis {redis.Acknowledged}");

        Assert.Multiple(() =>
        {
            Assert.That(answered, Is.GreaterThan(0), "calls answered (an engine answers only after both writes were acknowledged)");
            foreach (var (store, accounting) in new[] { (WriteStore.Postgres, postgres), (WriteStore.Redis, redis) })
            {
                Assert.That(accounting.Acknowledged, Is.GreaterThanOrEqualTo(answered), $"{store}: a write acknowledged for every answered call");
                Assert.That(accounting.Lost, Is.Empty, $"{store}: lost");
                Assert.That(accounting.Unexpected, Is.Empty, $"{store}: unexpected");
                Assert.That(accounting.Rpo, Is.EqualTo(TimeSpan.Zero), $"{store}: RPO");
            }
        });
    }

    [Test]
    [Order(3)]
    public async Task The_lag_poller_samples_both_replicas_from_the_primary_while_writes_flow()
    {
        // replay_lag is reported only while WAL flows (it clears ~10 s after the standby has caught up): the load's writes.
        await ObserveAsync("lag samples of abuja and asaba", () => Survivors.All(replica => _run.LagSamples.Any(sample => sample.Replica == $"{replica}/postgres")));
        var samples = _run.LagSamples;
        foreach (var replica in samples.GroupBy(sample => sample.Replica))
        {
            TestContext.Out.WriteLine($"{replica.Key}: {replica.Count()} samples, max {replica.Max(sample => sample.Lag).TotalMilliseconds:F1} ms");
        }

        Assert.Multiple(() =>
        {
            Assert.That(samples.Select(sample => sample.Replica).Distinct(), Is.EquivalentTo(new[] { "abuja/postgres", "asaba/postgres" }), "lagos, the primary, is no replica");
            Assert.That(samples.Select(sample => sample.Lag), Is.All.GreaterThanOrEqualTo(TimeSpan.Zero));
        });
    }

    [TestCase(WriteStore.Postgres)]
    [TestCase(WriteStore.Redis)]
    [Order(4)]
    public async Task Writes_deleted_on_the_primary_are_reported_lost_with_their_rpo_and_an_id_never_written_as_unexpected(WriteStore store)
    {
        var acknowledged = _run.WritesOf(store).Where(write => write.Acknowledged is not null).DistinctBy(write => write.Id).OrderBy(write => write.Acknowledged).ToList();
        Assert.That(acknowledged, Has.Count.GreaterThanOrEqualTo(5), "the load (the test before) left acknowledged writes to delete");
        // Not the earliest: the RPO then depends on which acknowledgement belongs to which id.
        var victims = new[] { acknowledged[1], acknowledged[acknowledged.Count / 2], acknowledged[^1] }.DistinctBy(write => write.Id).ToList();
        var phantom = $"never-written-{Guid.NewGuid():N}";
        await DeleteOnPrimaryAsync(store, victims.Select(write => write.Id).ToList(), phantom);
        _deleted[store] = [.. victims.Select(write => write.Id)];

        var faultStart = _run.Now;
        var accounting = await _run.AccountAsync(store, faultStart);
        var earliest = victims.Min(write => write.Acknowledged!.Value);
        var calls = _run.CallsOf(_load!);

        Assert.Multiple(() =>
        {
            Assert.That(accounting.Lost, Is.EquivalentTo(victims.Select(write => write.Id)), "exactly the deleted writes are lost");
            Assert.That(accounting.Unexpected, Is.EqualTo(new[] { phantom }), "the id never written is unexpected");
            Assert.That(accounting.Acknowledged, Is.EqualTo(acknowledged.Count));
            Assert.That(accounting.Recovered, Is.Empty);
            Assert.That(accounting.LostAcknowledgedFrom, Is.EqualTo(earliest));
            Assert.That(accounting.LostAcknowledgedUntil, Is.EqualTo(victims.Max(write => write.Acknowledged!.Value)));
            Assert.That(earliest, Is.InRange(calls.Min(call => call.Start), calls.Max(call => call.End)), "the engines' acknowledgements are on the scenario's clock, within the load");
            Assert.That(accounting.Rpo, Is.EqualTo(faultStart - earliest), "RPO: from the earliest lost acknowledgement to the fault");
            Assert.That(accounting.Rpo, Is.GreaterThan(TimeSpan.Zero));
        });
    }

    [Test]
    [Order(5)]
    public async Task The_report_is_written_as_its_name_json_with_every_attachment_it_lists_beside_it()
    {
        await _run.WriteReportAsync(_reportDirectory, _load);
        var reportFile = Path.Combine(_reportDirectory, $"{_run.Name}.json");
        Assert.That(File.Exists(reportFile), Is.True, $"{reportFile} written");
        var report = JsonSerializer.Deserialize<ScenarioReport>(await File.ReadAllTextAsync(reportFile), ScenarioReport.Json)!;
        var written = Directory.GetFiles(_reportDirectory).Select(Path.GetFileName).Where(file => file != $"{_run.Name}.json");
        var postgresWrites = await File.ReadAllTextAsync(Path.Combine(_reportDirectory, $"{_run.Name}-writes-postgres.txt"));
        var calls = await File.ReadAllLinesAsync(Path.Combine(_reportDirectory, $"{_run.Name}-calls.csv"));
        var lag = await File.ReadAllTextAsync(Path.Combine(_reportDirectory, $"{_run.Name}-lag.csv"));

        Assert.Multiple(() =>
        {
            Assert.That(report.Scenario, Is.EqualTo(_run.Name));
            Assert.That(report.Profile, Is.EqualTo("ci"));
            Assert.That(report.Attachments.Select(attachment => attachment.File), Is.EquivalentTo(
                new[] { "calls.csv", "lag.csv", "writes-postgres.txt", "writes-redis.txt", "topology-status.json", "server-logs.txt" }.Select(suffix => $"{_run.Name}-{suffix}")));
            Assert.That(written, Is.EquivalentTo(report.Attachments.Select(attachment => attachment.File)), "every attachment listed is written, and nothing else");
            Assert.That(report.Transitions.Select(transition => transition.Subject), Does.Contain("postgres/lagos").And.Contain("balancer/lagos"));
            Assert.That(report.Lag.Select(summary => summary.Replica), Is.EquivalentTo(new[] { "abuja/postgres", "asaba/postgres" }));
            Assert.That(calls, Has.Length.EqualTo(_load!.Calls.Count + 1), "a header and one line per call");
            Assert.That(lag, Does.Contain(",abuja/postgres,").And.Contain(",asaba/postgres,"));
            Assert.That(postgresWrites, Does.Contain("lost 3"));
            foreach (var id in _deleted.GetValueOrDefault(WriteStore.Postgres, []))
            {
                Assert.That(postgresWrites, Does.Contain(id), "the lost ids are listed");
            }
        });
    }

    [Test]
    [Order(6)]
    public async Task Losing_lagos_shows_on_the_role_timeline_as_lagos_down_and_both_stores_electing_a_primary_elsewhere_by_themselves()
    {
        _fault = await _run.InjectAsync($"lose {Lost}", () => _run.Topology.KillRegionAsync(Lost));

        // Only watched: Patroni and Sentinel must elect among the survivors by themselves.
        var bound = Environment.Database.WorstFailover + TimeSpan.FromSeconds(10);
        // Until the roles settle: right after a promotion the pollers' latest samples can still show the old roles
        // (a Redis node polled just before Sentinel reconfigured it); two primaries that never settle still fail below.
        await ObserveAsync("a primary outside lagos in both stores, and one primary at the latest polls", () => Stores.All(store =>
            PromotedAfterFault(store) is not null
            && _run.RolesOf(store).GroupBy(role => role.Node).Select(node => node.MaxBy(role => role.At)!).Count(role => role.ClaimsPrimary) == 1), bound);
        foreach (var transition in _run.Transitions.Where(transition => transition.At >= _fault.Start))
        {
            TestContext.Out.WriteLine($"fault + {(transition.At - _fault.Start).TotalSeconds,6:F2} s  {transition.Subject,-16} {transition.State}");
        }

        Assert.Multiple(() =>
        {
            foreach (var store in Stores)
            {
                var name = store.ToString().ToLowerInvariant();
                Assert.That(StatesAfterFault($"{name}/{Lost}"), Does.Contain("down"), $"{store}: lagos's node seen down");
                Assert.That(PromotedAfterFault(store)?.Subject, Is.EqualTo($"{name}/abuja").Or.EqualTo($"{name}/asaba"), $"{store}: a survivor became primary");
                var latest = _run.RolesOf(store).GroupBy(role => role.Node).Select(node => node.MaxBy(role => role.At)!).ToList();
                Assert.That(latest.Count(role => role.ClaimsPrimary), Is.EqualTo(1), $"{store}: one primary at the latest poll");
                Assert.That(latest.Single(role => role.Node == Lost).ClaimsPrimary, Is.False, $"{store}: lagos claims nothing");
            }
        });
    }

    [Test]
    [Order(7)]
    public async Task Losing_lagos_shows_on_the_balancer_timeline_as_lagos_down_while_abuja_and_asaba_stay_up()
    {
        Assert.That(_fault, Is.Not.Null, "lagos was lost (by the test before)");
        await ObserveAsync("the balancer to mark lagos down", () => StatesAfterFault($"balancer/{Lost}").Contains("DOWN"), Environment.DetectionTime + PollerBound);

        Assert.Multiple(() =>
        {
            Assert.That(StatesAfterFault($"balancer/{Lost}"), Is.EqualTo(new[] { "DOWN" }));
            foreach (var survivor in Survivors)
            {
                Assert.That(StatesAfterFault($"balancer/{survivor}"), Is.Empty, $"{survivor} stays UP");
            }
        });
    }

    [Test]
    [Order(8)]
    public async Task After_the_failover_the_lag_poller_samples_the_remaining_replica_from_the_new_primary()
    {
        Assert.That(_fault, Is.Not.Null, "lagos was lost (by the tests before)");
        var promoted = PromotedAfterFault(WriteStore.Postgres);
        Assert.That(promoted, Is.Not.Null, "Patroni promoted a survivor");
        var primary = promoted!.Subject["postgres/".Length..];
        var replica = Survivors.Single(survivor => survivor != primary);

        // WAL for the remaining standby to replay (replay_lag is reported only while WAL flows); nothing is re-pointed.
        var marker = 0;
        await ObserveAsync($"a lag sample of {replica} after {primary}'s promotion", async _ =>
        {
            await _run.Topology.Postgres.ExecuteAsync(primary, $"INSERT INTO voxguard_markers (id) VALUES ('after-failover-{marker++}')");
            return SamplesAfter(promoted.At).Any(sample => sample.Replica == $"{replica}/postgres");
        }, TimeSpan.FromSeconds(15));

        Assert.That(SamplesAfter(promoted.At).Select(sample => sample.Replica).Distinct().ToArray(), Is.EqualTo(new[] { $"{replica}/postgres" }));
    }

    [Test]
    [Order(9)]
    public async Task The_report_after_the_loss_carries_the_servers_own_account_of_the_failover_each_event_after_the_fault()
    {
        var directory = Path.Combine(_reportDirectory, "after-loss");
        await _run.WriteReportAsync(directory, _load);
        var report = JsonSerializer.Deserialize<ScenarioReport>(await File.ReadAllTextAsync(Path.Combine(directory, $"{_run.Name}.json")), ScenarioReport.Json)!;
        var afterFault = report.ServerEvents.Where(said => said.At >= _fault!.Start).ToList();
        foreach (var said in afterFault)
        {
            TestContext.Out.WriteLine($"fault + {(said.At - _fault!.Start).TotalSeconds,6:F2} s  {said.Server,-16} {said.Event}");
        }

        var promotion = afterFault.FirstOrDefault(said => said.Event.StartsWith("Patroni promoted its node", StringComparison.Ordinal));
        var promotedSeen = PromotedAfterFault(WriteStore.Postgres);
        // etcd's quorum: when the lost region's member led it, a survivor's says it lost its leader and then another
        // says it leads; when a survivor's led, the quorum needed no election. Either way Patroni promotes under a leader.
        var etcdLostLeader = afterFault.FirstOrDefault(said => said.Server != $"{Lost}-etcd" && said.Event.StartsWith("etcd lost its leader", StringComparison.Ordinal));
        var etcdNewLeader = afterFault.FirstOrDefault(said => said.Server != $"{Lost}-etcd" && said.Event.StartsWith("etcd became the quorum's leader", StringComparison.Ordinal));
        TestContext.Out.WriteLine(etcdLostLeader is null ? $"{Lost}'s etcd member did not lead the quorum: no election" : $"etcd: {etcdLostLeader.Server} lost its leader, {etcdNewLeader?.Server} leads");
        Assert.Multiple(() =>
        {
            Assert.That(report.ServerEvents.Select(said => said.At), Is.Ordered, "oldest first");
            Assert.That(report.ServerEvents.Select(said => said.At), Is.All.GreaterThanOrEqualTo(TimeSpan.Zero), "from the scenario's start on");
            Assert.That(promotion?.Server, Is.EqualTo("abuja-patroni").Or.EqualTo("asaba-patroni"), "a survivor's Patroni says it promoted its node");
            Assert.That(promotion?.Line, Does.Contain("promoted self to leader"), "with the line it said it in");
            // The server's word and the role poller's observation tell the same story: the promotion is logged before the
            // poller (every 200 ms) sees the new primary answer, give or take the time to read a line.
            Assert.That(promotion?.At, Is.LessThanOrEqualTo(promotedSeen!.At + TimeSpan.FromSeconds(1)));
            Assert.That(afterFault.Select(said => said.Event), Has.Some.Match(@"^Sentinel switched the master to (abuja|asaba)'s Redis \(127\.0\.18[23]\.200:6379\)$"),
                "named by the region the address belongs to");
            Assert.That(afterFault.Where(said => said.Server == "sip-balancer").Select(said => said.Event), Has.Some.StartsWith($"balancer marked {Lost} DOWN"));
            if (etcdLostLeader is not null)
            {
                Assert.That(etcdNewLeader?.At, Is.GreaterThanOrEqualTo(etcdLostLeader.At), "a survivor's etcd member leads the quorum after the loss");
                Assert.That(promotion?.At, Is.GreaterThan(etcdNewLeader?.At ?? TimeSpan.MaxValue), "Patroni promotes once the quorum has a leader again");
            }
        });
    }

    private static IEnumerable<WriteStore> Stores => [WriteStore.Postgres, WriteStore.Redis];

    private string? FirstState(string subject) => _run.Transitions.FirstOrDefault(transition => transition.Subject == subject)?.State;

    private List<string> States(string subject) => [.. _run.Transitions.Where(transition => transition.Subject == subject).Select(transition => transition.State)];

    private List<string> StatesAfterFault(string subject) =>
        [.. _run.Transitions.Where(transition => transition.Subject == subject && transition.At >= _fault!.Start).Select(transition => transition.State)];

    private HealthTransition? PromotedAfterFault(WriteStore store) => _run.Transitions.FirstOrDefault(transition =>
        transition.At >= _fault!.Start && transition.State == "primary" && transition.Subject.StartsWith(store.ToString().ToLowerInvariant() + "/", StringComparison.Ordinal)
        && transition.Subject != $"{store.ToString().ToLowerInvariant()}/{Lost}");

    private IEnumerable<LagSample> SamplesAfter(TimeSpan at) => _run.LagSamples.Where(sample => sample.At > at);

    private async Task DeleteOnPrimaryAsync(WriteStore store, IReadOnlyList<string> ids, string phantom)
    {
        if (store == WriteStore.Postgres)
        {
            var primary = await _run.Topology.Postgres.PrimaryRegionAsync();
            await _run.Topology.Postgres.ExecuteAsync(primary, $"DELETE FROM voxguard_writes WHERE id IN ({string.Join(", ", ids.Select(id => $"'{id}'"))})");
            await _run.Topology.Postgres.ExecuteAsync(primary, $"INSERT INTO voxguard_writes (id, region, call_id) VALUES ('{phantom}', 'nowhere', 'none')");
            return;
        }

        var master = _run.Topology.Redis.EndPointOf((await _run.Topology.Redis.MasterRegionAsync()).Name);
        var deleted = await RespClient.CommandAsync(master, CancellationToken.None, ["DEL", .. ids.Select(id => RedisWriter.KeyPrefix + id)]);
        Assert.That(deleted, Is.EqualTo((long)ids.Count), "keys deleted");
        await RespClient.CommandAsync(master, CancellationToken.None, "SET", RedisWriter.KeyPrefix + phantom, "nowhere");
    }

    /// <summary>Waits (watching only) until <paramref name="seen"/> holds or the bound passes; the assertions after it say what was missing.</summary>
    private static Task ObserveAsync(string what, Func<bool> seen, TimeSpan? bound = null) => ObserveAsync(what, _ => Task.FromResult(seen()), bound);

    private static async Task ObserveAsync(string what, Func<CancellationToken, Task<bool>> seen, TimeSpan? bound = null)
    {
        try
        {
            await WaitStrategy.UntilAsync(seen, bound ?? PollerBound, TimeSpan.FromMilliseconds(100), what);
        }
        catch (TimeoutException exception)
        {
            TestContext.Out.WriteLine(exception.Message);
        }
    }
}
