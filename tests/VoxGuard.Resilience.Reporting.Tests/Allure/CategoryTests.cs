using System.Text.RegularExpressions;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Compliance;

namespace VoxGuard.Resilience.Reporting.Tests.Allure;

public sealed class CategoryTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static IEnumerable<TestCaseData> MissedVerdicts()
    {
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.Failover, "failover (service back and staying back)", null, Limit), "Failover target missed");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.Failover, "detection (lagos marked down by the balancer)", TimeSpan.FromSeconds(40), Limit), "Failover target missed");
        yield return new TestCaseData(TargetVerdict.Condition(TargetKind.Failover, "primaries outside lagos", "postgres abuja + lagos", "neither in lagos", false), "Failover target missed");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.DataLoss, "Postgres RPO", TimeSpan.FromSeconds(70), TimeSpan.FromMinutes(1)), "RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Zero(TargetKind.DataLoss, "Redis writes lost", 3), "RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.Failback, "failback (rejoin, catch up, switch both stores back, weights)", TimeSpan.FromMinutes(16), TimeSpan.FromMinutes(15)), "Failback target missed");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.DisasterRecoveryTime, "service back after every region was lost (DR RTO)", TimeSpan.FromMinutes(16), TimeSpan.FromMinutes(15)), "DR RTO exceeded");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.DisasterRecoveryDataLoss, "Postgres RPO after restore", TimeSpan.FromHours(6), TimeSpan.FromMinutes(1)), "DR RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Condition(TargetKind.DisasterRecoveryIntegrity, "integrity after the restore", "1 problem(s)", "sound", false), "DR integrity check failed");
        yield return new TestCaseData(TargetVerdict.Condition(TargetKind.Retention, "backup retention", "online repo1 7 d", "online ≥ 30 d", false), "Retention below the guide");
        yield return new TestCaseData(TargetVerdict.Zero(TargetKind.SplitBrain, "Postgres unexpected writes", 2), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.Zero(TargetKind.SplitBrain, "Redis dual-primary windows", 1), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.AtMost(TargetKind.Distribution, "split after losing lagos (abuja 50/asaba 50)", 31, 20), "Distribution deviation");
        yield return new TestCaseData(TargetVerdict.Below(TargetKind.ReplicationLag, "replication lag p99 abuja/postgres", TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(100)), "Replication lag above target");
        yield return new TestCaseData(TargetVerdict.AtLeast(TargetKind.Availability, "call success", 97, 99.9), "Availability below target");
    }

    [Test]
    public void Every_kind_has_a_category_of_its_own()
    {
        var kinds = Enum.GetValues<TargetKind>();

        Assert.That(TargetKinds.BySeverity, Is.EquivalentTo(kinds), "every kind is ranked once");
        Assert.That(kinds.Select(TargetKinds.MissHeadline).Distinct().Count(), Is.EqualTo(kinds.Length), "one headline per kind");
        Assert.That(AllureCategories.All.Select(category => category.Name), Is.SupersetOf(kinds.Select(TargetKinds.MissHeadline)));
    }

    [TestCaseSource(nameof(MissedVerdicts))]
    public void Renaming_a_target_changes_neither_its_category_nor_its_ncc_items(TargetVerdict verdict, string category)
    {
        // Wording that used to steer the old substring rules elsewhere ("failover", "rpo", "split", "lost").
        var renamed = verdict with { Target = "rpo failover split lost unexpected primary" };

        Assert.Multiple(() =>
        {
            Assert.That(FirstMatch(TargetKinds.MissLine(renamed), "failed", wholeMessage: false), Is.EqualTo(category));
            Assert.That(NccChecklist.ItemsEvidencedBy(renamed.Kind), Is.EqualTo(NccChecklist.ItemsEvidencedBy(verdict.Kind)));
        });
    }

    [Test]
    public void Only_recovery_from_backups_is_evidence_for_disaster_recovery_and_failover_is_evidence_for_high_availability()
    {
        Assert.Multiple(() =>
        {
            foreach (var kind in Enum.GetValues<TargetKind>())
            {
                var items = NccChecklist.ItemsEvidencedBy(kind);
                var disasterRecovery = kind is TargetKind.DisasterRecoveryTime or TargetKind.DisasterRecoveryDataLoss or TargetKind.DisasterRecoveryIntegrity;
                Assert.That(items.Contains("disaster-recovery"), Is.EqualTo(disasterRecovery), $"{kind} and the disaster-recovery item");
            }

            Assert.That(NccChecklist.ItemsEvidencedBy(TargetKind.Failover), Is.EqualTo(new[] { "high-availability" }));
            Assert.That(NccChecklist.ItemsEvidencedBy(TargetKind.Retention), Is.EqualTo(new[] { "retention-7y" }), "only the configured retention speaks to the 7-year item");
            Assert.That(NccChecklist.ItemsEvidencedBy(TargetKind.Unclassified), Is.Empty, "a verdict without a kind is evidence for nothing");
        });
    }

    [TestCaseSource(nameof(MissedVerdicts))]
    public void A_missed_verdicts_message_lands_in_its_category_under_allure_2_and_allure_3_matching(TargetVerdict verdict, string category)
    {
        var message = "some earlier line\n" + TargetKinds.MissLine(verdict) + "\nand a later one";

        Assert.Multiple(() =>
        {
            Assert.That(FirstMatch(message, "failed", wholeMessage: true), Is.EqualTo(category), "Allure 2: the regex must match the whole message");
            Assert.That(FirstMatch(message, "failed", wholeMessage: false), Is.EqualTo(category), "Allure 3: the regex is searched for");
            Assert.That(FirstMatch(message, "broken", wholeMessage: false), Is.Null, "a missed target's category never takes a broken test");
        });
    }

    [Test]
    public void A_harness_error_lands_in_the_harness_category_and_only_when_broken()
    {
        var message = TargetKinds.HarnessErrorHeadline + ": System.TimeoutException : redis did not start\nsecond line";

        Assert.That(FirstMatch(message, "broken", wholeMessage: true), Is.EqualTo("Harness/infrastructure error"));
        Assert.That(FirstMatch(message, "broken", wholeMessage: false), Is.EqualTo("Harness/infrastructure error"));
        Assert.That(FirstMatch(message, "failed", wholeMessage: false), Is.Null);
    }

    [Test]
    public void A_passed_verdict_matches_no_category()
    {
        var passed = TargetVerdict.Below(TargetKind.Failover, "failover", TimeSpan.FromSeconds(3), Limit);

        Assert.That(FirstMatch($"{passed.Target}: measured {passed.Measured}", "failed", wholeMessage: false), Is.Null);
    }

    private static string? FirstMatch(string message, string status, bool wholeMessage) =>
        AllureCategories.All.FirstOrDefault(category => category.MatchedStatuses.Contains(status)
            && (wholeMessage
                ? Regex.IsMatch(message, "^(?:" + category.MessageRegex + ")$")
                : Regex.IsMatch(message, category.MessageRegex)))?.Name;
}
