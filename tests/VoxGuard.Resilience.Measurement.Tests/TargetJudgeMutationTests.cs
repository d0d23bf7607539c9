using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Measurement.Tests;

/// <summary>
/// The mutation check of the verdicts: for every kind of target, a timeline where it must pass and the same timeline
/// changed where it must miss. A rule that passes both cannot fail, and the second case names which one.
/// </summary>
public sealed class TargetJudgeMutationTests
{
    private static readonly TimeSpan Fault = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FailoverTarget = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RpoTarget = TimeSpan.FromMinutes(1);

    /// <summary>Each case: the kind, the verdict from a healthy timeline, the verdict from a broken one.</summary>
    private static IEnumerable<TestCaseData> Cases()
    {
        // Failover: the balancer marks lagos down 1.2 s after the fault — or never.
        yield return Case("detection", TargetKind.Failover,
            TargetJudge.Detection([Up("lagos", 0), Down("lagos", 6.2)], "lagos", Fault, FailoverTarget),
            TargetJudge.Detection([Up("lagos", 0), Down("lagos", 2.0)], "lagos", Fault, FailoverTarget)); // down before the fault is no detection

        // Failover: calls come back 8 s after the fault — or 40 s after it.
        yield return Case("service back", TargetKind.Failover,
            TargetJudge.ServiceBack(TargetKind.Failover, "failover", Calls(outageFrom: 5, outageTo: 13, until: 60), Fault, FailoverTarget).Verdict,
            TargetJudge.ServiceBack(TargetKind.Failover, "failover", Calls(outageFrom: 5, outageTo: 45, until: 60), Fault, FailoverTarget).Verdict);

        // Failover: abuja claims primary 20 s after the fault — or only lagos ever does (nobody elected).
        yield return Case("store election", TargetKind.Failover,
            TargetJudge.StoreElection("Postgres", "Patroni", [Role(0, "lagos", true), Role(6, "lagos", false), Role(25, "abuja", true)], "lagos", Fault, FailoverTarget, "test"),
            TargetJudge.StoreElection("Postgres", "Patroni", [Role(0, "lagos", true), Role(6, "lagos", true), Role(25, "abuja", false)], "lagos", Fault, FailoverTarget, "test"));

        // Failover: the formerly unfalsifiable "primaries outside lagos" — the old primary still answers as primary.
        yield return Case("primaries outside lagos", TargetKind.Failover,
            OutsideLagos(postgres: [Role(30, "lagos", false), Role(30, "abuja", true), Role(30, "asaba", false)]),
            OutsideLagos(postgres: [Role(30, "lagos", true), Role(30, "abuja", true), Role(30, "asaba", false)]));

        // Failover: "no failover (primaries stay put)" under a flapping link — abuja took over.
        yield return Case("no failover", TargetKind.Failover,
            StayInLagos(postgres: [Role(40, "lagos", true), Role(40, "abuja", false)]),
            StayInLagos(postgres: [Role(40, "lagos", false), Role(40, "abuja", true)]));

        // Failback: "primaries back in lagos" — abuja still answers as primary after the switchover.
        yield return Case("primaries back in lagos", TargetKind.Failback,
            BackInLagos(postgres: [Role(50, "lagos", true), Role(50, "abuja", false)]),
            BackInLagos(postgres: [Role(50, "lagos", false), Role(50, "abuja", true)]));

        // Data loss: writes acknowledged up to the fault all read back — or the last 90 s of them missing.
        yield return Case("RPO", TargetKind.DataLoss,
            TargetJudge.Rpo(TargetKind.DataLoss, "Postgres", Accounting(lostFor: 0), RpoTarget),
            TargetJudge.Rpo(TargetKind.DataLoss, "Postgres", Accounting(lostFor: 90), RpoTarget));

        // Disaster recovery, data: the same rule after a restore — a backup 6 h old loses 6 h.
        yield return Case("DR RPO", TargetKind.DisasterRecoveryDataLoss,
            TargetJudge.Rpo(TargetKind.DisasterRecoveryDataLoss, "Postgres", Accounting(lostFor: 20), RpoTarget),
            TargetJudge.Rpo(TargetKind.DisasterRecoveryDataLoss, "Postgres", Accounting(lostFor: 6 * 3600), RpoTarget));

        // Disaster recovery, time: service back 10 min after every region was lost — or 20 min after.
        yield return Case("DR RTO", TargetKind.DisasterRecoveryTime,
            TargetJudge.ServiceBack(TargetKind.DisasterRecoveryTime, "DR RTO", Calls(outageFrom: 5, outageTo: 605, until: 700), Fault, TimeSpan.FromMinutes(15)).Verdict,
            TargetJudge.ServiceBack(TargetKind.DisasterRecoveryTime, "DR RTO", Calls(outageFrom: 5, outageTo: 1205, until: 1300), Fault, TimeSpan.FromMinutes(15)).Verdict);

        // Disaster recovery, integrity: a clean verify and amcheck — or a damaged backup in the repository.
        yield return Case("DR integrity", TargetKind.DisasterRecoveryIntegrity,
            TargetJudge.Integrity(new RestoreIntegrity("repo1", true, [], [], 120, 120, "0123456789abcdef")),
            TargetJudge.Integrity(new RestoreIntegrity("repo1", false, ["20261204-101500F"], [], 120, 120, "0123456789abcdef")));

        // Retention: 30 days online in both repositories and 7 years archived — or repo2 keeping only 7 days.
        yield return Case("retention", TargetKind.Retention,
            TargetJudge.Retention(new Dictionary<string, int> { ["repo1"] = 30, ["repo2"] = 30 }, 7, 30, 7),
            TargetJudge.Retention(new Dictionary<string, int> { ["repo1"] = 30, ["repo2"] = 7 }, 7, 30, 7));

        // Split brain: one primary at a time — or lagos and abuja both primary for 4 s.
        yield return Case("dual-primary windows", TargetKind.SplitBrain,
            TargetJudge.NoDualPrimary("Redis", SplitBrainAnalysis.DualPrimaryWindows([Role(0, "lagos", true), Role(10, "lagos", false), Role(11, "abuja", true)], TimeSpan.FromSeconds(20))),
            TargetJudge.NoDualPrimary("Redis", SplitBrainAnalysis.DualPrimaryWindows([Role(0, "lagos", true), Role(11, "abuja", true), Role(15, "lagos", false)], TimeSpan.FromSeconds(20))));

        // Split brain: nothing read back that no engine wrote — or a write from a second writer.
        yield return Case("unexpected writes", TargetKind.SplitBrain,
            TargetJudge.NoUnexpectedWrites("Postgres", WriteAccounting.Account([new("w1", TimeSpan.FromSeconds(1))], ["w1"], Fault)),
            TargetJudge.NoUnexpectedWrites("Postgres", WriteAccounting.Account([new("w1", TimeSpan.FromSeconds(1))], ["w1", "w-never-written"], Fault)));

        // Distribution: 70/15/15 as weighted — or everything on lagos.
        var weights = new Dictionary<string, double> { ["lagos"] = 70, ["abuja"] = 15, ["asaba"] = 15 };
        yield return Case("distribution", TargetKind.Distribution,
            TargetJudge.Split("split", Spread(("lagos", 70), ("abuja", 15), ("asaba", 15)), weights, TimeSpan.Zero, TimeSpan.FromSeconds(100), 20).Verdict,
            TargetJudge.Split("split", Spread(("lagos", 100)), weights, TimeSpan.Zero, TimeSpan.FromSeconds(100), 20).Verdict);

        // Replication lag: 20 ms at p99 — or 400 ms.
        yield return Case("lag p99", TargetKind.ReplicationLag,
            TargetJudge.LagP99(LagAnalysis.Summarise(Lag(20), TimeSpan.FromMilliseconds(500))[0], TimeSpan.FromMilliseconds(100)),
            TargetJudge.LagP99(LagAnalysis.Summarise(Lag(400), TimeSpan.FromMilliseconds(500))[0], TimeSpan.FromMilliseconds(100)));

        // Availability: every call answered — or one in a hundred dropped.
        yield return Case("call success", TargetKind.Availability,
            TargetJudge.CallSuccess(Calls(outageFrom: 0, outageTo: 0, until: 100), 99.9),
            TargetJudge.CallSuccess([.. Calls(outageFrom: 0, outageTo: 0, until: 100).Select((call, index) => index % 100 == 0 ? call with { Succeeded = false } : call)], 99.9));
    }

    [TestCaseSource(nameof(Cases))]
    public void A_verdict_passes_on_a_healthy_timeline_and_misses_on_a_broken_one(TargetKind kind, TargetVerdict healthy, TargetVerdict broken)
    {
        Assert.Multiple(() =>
        {
            Assert.That((healthy.Kind, broken.Kind), Is.EqualTo((kind, kind)));
            Assert.That(healthy.Passed, Is.True, $"healthy: {healthy.Target}: {healthy.Measured} (required {healthy.Required}) {healthy.Detail}");
            Assert.That(broken.Passed, Is.False, $"broken: {broken.Target}: {broken.Measured} (required {broken.Required}) {broken.Detail}");
        });
    }

    [Test]
    public void Every_kind_of_target_has_a_mutation_case()
    {
        var covered = Cases().Select(data => (TargetKind)data.Arguments[0]!).ToHashSet();

        Assert.That(covered, Is.EquivalentTo(Enum.GetValues<TargetKind>().Where(kind => kind != TargetKind.Unclassified)));
    }

    [Test]
    public void Numeric_verdicts_carry_values_units_and_a_comparison_that_agree_with_passed()
    {
        foreach (var verdict in Cases().SelectMany(data => new[] { (TargetVerdict)data.Arguments[1]!, (TargetVerdict)data.Arguments[2]! })
                     .Where(verdict => verdict.Comparison != TargetComparison.Condition && verdict.MeasuredValue is not null))
        {
            var (measured, required) = (verdict.MeasuredValue!.Value, verdict.RequiredValue!.Value);
            var holds = verdict.Comparison switch
            {
                TargetComparison.Below => measured < required,
                TargetComparison.AtMost => measured <= required,
                _ => measured >= required,
            };
            Assert.That(holds, Is.EqualTo(verdict.Passed), $"{verdict.Target}: {measured} {verdict.Comparison} {required} {verdict.Unit}");
            Assert.That(verdict.Unit, Is.Not.EqualTo(TargetUnit.None), verdict.Target);
        }
    }

    [Test]
    public void Primaries_now_takes_each_nodes_latest_answer_and_a_silent_node_claims_nothing()
    {
        var primaries = TargetJudge.PrimariesNow([Role(1, "lagos", true), Role(2, "abuja", false), Role(3, "lagos", false), Role(4, "abuja", true)]);

        Assert.That(primaries, Is.EqualTo(new[] { "abuja" }));
    }

    private static TestCaseData Case(string name, TargetKind kind, TargetVerdict healthy, TargetVerdict broken) =>
        new TestCaseData(kind, healthy, broken).SetName($"{kind}: {name} passes healthy, misses broken");

    private static TargetVerdict OutsideLagos(IReadOnlyList<RoleObservation> postgres) =>
        Placement(TargetKind.Failover, "primaries outside lagos", postgres, redisPrimary: "abuja", region => region != "lagos");

    private static TargetVerdict StayInLagos(IReadOnlyList<RoleObservation> postgres) =>
        Placement(TargetKind.Failover, "no failover (primaries stay put)", postgres, redisPrimary: "lagos", region => region == "lagos");

    private static TargetVerdict BackInLagos(IReadOnlyList<RoleObservation> postgres) =>
        Placement(TargetKind.Failback, "primaries back in lagos", postgres, redisPrimary: "lagos", region => region == "lagos");

    private static TargetVerdict Placement(TargetKind kind, string target, IReadOnlyList<RoleObservation> postgres, string redisPrimary, Func<string, bool> expected) =>
        TargetJudge.Primaries(kind, target, new Dictionary<string, IReadOnlyList<string>> { ["Postgres"] = TargetJudge.PrimariesNow(postgres), ["Redis"] = [redisPrimary] }, expected, target);

    private static HealthTransition Up(string region, double at) => new(TimeSpan.FromSeconds(at), $"balancer/{region}", "UP");

    private static HealthTransition Down(string region, double at) => new(TimeSpan.FromSeconds(at), $"balancer/{region}", "DOWN");

    private static RoleObservation Role(double at, string node, bool primary) => new(TimeSpan.FromSeconds(at), node, primary);

    /// <summary>50 calls per second until <paramref name="until"/> s, every one failing in [outageFrom, outageTo).</summary>
    private static List<CallObservation> Calls(double outageFrom, double outageTo, double until)
    {
        var calls = new List<CallObservation>();
        for (var at = 0.0; at < until; at += 0.02)
        {
            var failed = at >= outageFrom && at < outageTo;
            calls.Add(new CallObservation(TimeSpan.FromSeconds(at), TimeSpan.FromSeconds(at + 0.5), !failed, failed ? null : "abuja"));
        }

        return calls;
    }

    /// <summary>100 answered calls per region share, over 100 s.</summary>
    private static List<CallObservation> Spread(params (string Region, int Share)[] shares) =>
        [.. shares.SelectMany(share => Enumerable.Range(0, share.Share * 10))
            .Select((_, index) => index)
            .Zip(shares.SelectMany(share => Enumerable.Repeat(share.Region, share.Share * 10)))
            .Select(pair => new CallObservation(TimeSpan.FromSeconds(pair.First * 0.1), TimeSpan.FromSeconds((pair.First * 0.1) + 0.5), true, pair.Second))];

    /// <summary>100 lag samples of abuja at <paramref name="milliseconds"/>.</summary>
    private static List<LagSample> Lag(double milliseconds) =>
        [.. Enumerable.Range(0, 100).Select(i => new LagSample(TimeSpan.FromSeconds(i * 0.25), "abuja/postgres", TimeSpan.FromMilliseconds(milliseconds)))];

    /// <summary>A write every second for 10 minutes up to the fault at 600 s; the last <paramref name="lostFor"/> s of them not read back.</summary>
    private static WriteAccountingResult Accounting(double lostFor)
    {
        var fault = TimeSpan.FromSeconds(600);
        var writes = Enumerable.Range(0, 600).Select(second => new WriteObservation($"w{second}", TimeSpan.FromSeconds(second))).ToList();
        var readBack = writes.Where(write => write.Acknowledged < fault - TimeSpan.FromSeconds(lostFor)).Select(write => write.Id).ToList();
        return WriteAccounting.Account(writes, readBack, fault);
    }
}
