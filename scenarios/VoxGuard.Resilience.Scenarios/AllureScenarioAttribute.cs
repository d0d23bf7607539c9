using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>How much a scenario's failure matters, as Allure ranks it.</summary>
public enum AllureSeverity
{
    /// <summary>The deployment cannot be trusted in production (failover, data loss).</summary>
    Blocker,

    /// <summary>A documented target of the deployment guide.</summary>
    Critical,

    /// <summary>An expected behaviour without a documented figure.</summary>
    Normal,

    /// <summary>A detail.</summary>
    Minor,
}

/// <summary>
/// Records each scenario test's NUnit outcome for the compliance report (<c>./resilience report</c>): the status, the
/// message and stack trace, when it ran, the attribute's labels and which scenario reports the test wrote. One file per
/// test, <c>&lt;ScenarioSettings.ReportDirectory&gt;/outcomes/&lt;test full name&gt;.json</c>, beside the scenario
/// reports, because the scenario's own report cannot know how its test ended.
/// </summary>
/// <example><c>[AllureScenario("Region loss", AllureSeverity.Blocker, "failover", "rpo")]</c> on a scenario class.</example>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class AllureScenarioAttribute : Attribute, ITestAction
{
    /// <summary>The folder under the report directory holding the outcome files.</summary>
    public const string OutcomesFolder = RunLayout.OutcomesFolder;
    /// <summary>The NUnit category of negative controls.</summary>
    public const string NegativeControlCategory = "NegativeControl";

    private readonly ConcurrentDictionary<string, DateTimeOffset> _started = new(StringComparer.Ordinal);

    /// <summary>Labels the scenario tests of a class or method.</summary>
    /// <param name="feature">The Allure feature, e.g. "Region loss" (groups the scenarios in the report).</param>
    /// <param name="severity">How much a failure matters.</param>
    /// <param name="tags">Free tags, e.g. "failover", "rpo".</param>
    public AllureScenarioAttribute(string feature, AllureSeverity severity = AllureSeverity.Normal, params string[] tags)
    {
        Feature = feature;
        Severity = severity;
        Tags = tags ?? [];
    }

    /// <summary>The Allure feature.</summary>
    public string Feature { get; }

    /// <summary>How much a failure matters.</summary>
    public AllureSeverity Severity { get; }

    /// <summary>Free tags.</summary>
    public IReadOnlyList<string> Tags { get; }

    /// <inheritdoc/>
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc/>
    public void BeforeTest(ITest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        _started[test.Id] = DateTimeOffset.UtcNow;
    }

    /// <inheritdoc/>
    public void AfterTest(ITest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        var result = TestContext.CurrentContext.Result;
        var start = _started.TryRemove(test.Id, out var started) ? started : DateTimeOffset.UtcNow;
        try
        {
            WriteOutcome(ScenarioSettings.ReportDirectory, test, result.Outcome, result.Message, result.StackTrace, start, DateTimeOffset.UtcNow);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The report loses this test's outcome (it is then judged by its verdicts); the test's own result stands.
            TestContext.Progress.WriteLine($"AllureScenario: no outcome file for {test.FullName}: {exception.Message}");
        }
    }

    /// <summary>Writes one test's outcome file and returns its path.</summary>
    internal string WriteOutcome(string reportDirectory, ITest test, ResultState state, string? message, string? stackTrace, DateTimeOffset start, DateTimeOffset stop)
    {
        var outcome = new TestOutcome(
            test.FullName,
            test.Name,
            test.ClassName,
            test.MethodName,
            [.. test.Arguments.Select(argument => Convert.ToString(argument, CultureInfo.InvariantCulture) ?? "null")],
            StatusOf(state),
            state.ToString(),
            string.IsNullOrWhiteSpace(message) ? null : message,
            string.IsNullOrWhiteSpace(stackTrace) ? null : stackTrace,
            start,
            stop,
            Feature,
            Severity.ToString().ToLowerInvariant(),
            Tags,
            ScenariosWrittenBetween(start, stop),
            NegativeControl: IsNegativeControl(test));
        var directory = Path.Combine(reportDirectory, OutcomesFolder);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SafeFileName(test.FullName) + ".json");
        File.WriteAllText(path, JsonSerializer.Serialize(outcome, ScenarioReport.Json));
        return path;
    }

    /// <summary>True for a test of the negative controls (NUnit category NegativeControl, on the test or its fixture).</summary>
    internal static bool IsNegativeControl(ITest test)
    {
        for (var node = test; node is not null; node = node.Parent)
        {
            if (node.Properties[PropertyNames.Category].Contains(NegativeControlCategory))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Allure's status for an NUnit result: an assertion failure in the test itself is <c>failed</c> (a missed
    /// target); any other failure — an exception, a setup or teardown error, a cancellation — is <c>broken</c> (the
    /// harness or the infrastructure, not the system under test).
    /// </summary>
    internal static string StatusOf(ResultState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Status switch
        {
            TestStatus.Passed or TestStatus.Warning => "passed",
            TestStatus.Skipped or TestStatus.Inconclusive => "skipped",
            TestStatus.Failed when state.Site == FailureSite.Test && string.IsNullOrEmpty(state.Label) => "failed",
            _ => "broken",
        };
    }

    /// <summary>A file name for a test's full name: unsafe characters replaced, long names cut and told apart by a hash.</summary>
    internal static string SafeFileName(string fullName)
    {
        ArgumentNullException.ThrowIfNull(fullName);
        var safe = new StringBuilder(fullName.Length);
        foreach (var character in fullName)
        {
            safe.Append(char.IsAsciiLetterOrDigit(character) || character is '.' or '-' or '_' ? character : '_');
        }

        const int MaxLength = 120;
        if (safe.Length <= MaxLength)
        {
            return safe.ToString();
        }

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(fullName)))[..12];
        return safe.ToString(0, MaxLength) + "-" + hash;
    }

    // Tests are NonParallelizable, so a scenario report this process finished while the test ran is the test's (another
    // scenario lane writes into the same directory, so the directory alone cannot tell).
    private static string[] ScenariosWrittenBetween(DateTimeOffset start, DateTimeOffset stop) =>
        [.. ScenarioSettings.ReportsWritten.Where(report => report.FinishedAt >= start && report.FinishedAt <= stop).OrderBy(report => report.FinishedAt).Select(report => report.Scenario)];
}
