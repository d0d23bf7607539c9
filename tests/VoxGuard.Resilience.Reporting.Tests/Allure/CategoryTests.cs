using System.Text.RegularExpressions;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Compliance;

namespace VoxGuard.Resilience.Reporting.Tests.Allure;

public sealed class CategoryTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static IEnumerable<TestCaseData> MissedVerdicts()
    {
        yield return new TestCaseData(TargetVerdict.Below("lagos-region-loss", "failover (service back and staying back)", null, Limit), "RTO exceeded");
        yield return new TestCaseData(TargetVerdict.Below("lagos-region-loss", "detection (lagos marked down by the balancer)", TimeSpan.FromSeconds(40), Limit), "RTO exceeded");
        yield return new TestCaseData(TargetVerdict.Below("lagos-region-loss", "Postgres RPO", TimeSpan.FromSeconds(70), TimeSpan.FromMinutes(1)), "RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Zero("steady-state", "Redis writes lost", 3), "RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Zero("lagos-failback", "Postgres writes acknowledged during or after failback and lost", 4), "RPO exceeded");
        yield return new TestCaseData(TargetVerdict.Below("lagos-failback", "failback (rejoin, catch up, switch both stores back, weights)", TimeSpan.FromMinutes(16), TimeSpan.FromMinutes(15)), "RTO exceeded");
        yield return new TestCaseData(TargetVerdict.Zero("steady-state", "Postgres unexpected writes", 2), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.Zero("split-brain-partition", "Postgres writes lost", 5), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.Zero("lagos-isolation-as-documented", "Postgres acknowledged writes lost to the split brain (split brain prevented)", 282), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.Zero("lagos-abuja-link-flapping", "Redis dual-primary windows", 1), "Split-brain data loss");
        yield return new TestCaseData(TargetVerdict.AtMost("lagos-region-loss", "split after losing lagos (abuja 50/asaba 50)", 31, 20), "Distribution deviation");
        yield return new TestCaseData(TargetVerdict.AtMost("steady-state", "distribution deviation from 70/15/15", 25, 20), "Distribution deviation");
        yield return new TestCaseData(TargetVerdict.Below("steady-state", "replication lag p99 abuja/postgres", TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(100)), "Replication lag above target");
        yield return new TestCaseData(TargetVerdict.AtLeast("steady-state", "call success", 97, 99.9), "Availability below target");
    }

    [TestCaseSource(nameof(MissedVerdicts))]
    public void A_missed_verdicts_message_lands_in_its_category_under_allure_2_and_allure_3_matching(TargetVerdict verdict, string category)
    {
        var message = "some earlier line\n" + TargetClassification.MissLine(verdict) + "\nand a later one";

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
        var message = TargetClassification.HarnessErrorHeadline + ": System.TimeoutException : redis did not start\nsecond line";

        Assert.That(FirstMatch(message, "broken", wholeMessage: true), Is.EqualTo("Harness/infrastructure error"));
        Assert.That(FirstMatch(message, "broken", wholeMessage: false), Is.EqualTo("Harness/infrastructure error"));
        Assert.That(FirstMatch(message, "failed", wholeMessage: false), Is.Null);
    }

    [Test]
    public void A_passed_verdict_matches_no_category()
    {
        var passed = TargetVerdict.Below("lagos-region-loss", "failover", TimeSpan.FromSeconds(3), Limit);

        Assert.That(FirstMatch($"{passed.Target}: measured {passed.Measured}", "failed", wholeMessage: false), Is.Null);
    }

    private static string? FirstMatch(string message, string status, bool wholeMessage) =>
        AllureCategories.All.FirstOrDefault(category => category.MatchedStatuses.Contains(status)
            && (wholeMessage
                ? Regex.IsMatch(message, "^(?:" + category.MessageRegex + ")$")
                : Regex.IsMatch(message, category.MessageRegex)))?.Name;
}
