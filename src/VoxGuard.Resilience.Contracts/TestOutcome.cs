namespace VoxGuard.Resilience.Contracts;

/// <summary>
/// How one NUnit scenario test ended, as <c>AllureScenarioAttribute</c> writes it into
/// <c>&lt;run&gt;/scenarios/outcomes/&lt;test&gt;.json</c> (camelCase JSON).
/// </summary>
/// <param name="FullName">The test's full name (namespace, class, method and arguments).</param>
/// <param name="Name">The test's name (method and arguments).</param>
/// <param name="ClassName">Its fixture class.</param>
/// <param name="MethodName">Its method.</param>
/// <param name="Arguments">The test case's arguments, as text.</param>
/// <param name="Status">passed, failed (an assertion: a missed target), broken (any other error) or skipped.</param>
/// <param name="ResultState">NUnit's result state, as text.</param>
/// <param name="Message">NUnit's failure message.</param>
/// <param name="StackTrace">NUnit's stack trace.</param>
/// <param name="Start">When the test began.</param>
/// <param name="Stop">When it ended.</param>
/// <param name="Feature">The Allure feature from the attribute.</param>
/// <param name="Severity">blocker, critical, normal or minor.</param>
/// <param name="Tags">Free tags.</param>
/// <param name="Scenarios">The scenario reports the test wrote, in order.</param>
/// <param name="NegativeControl">True for a negative control's test (its NUnit category NegativeControl).</param>
public sealed record TestOutcome(string FullName, string Name, string? ClassName, string? MethodName, IReadOnlyList<string>? Arguments, string Status,
    string? ResultState, string? Message, string? StackTrace, DateTimeOffset Start, DateTimeOffset Stop, string? Feature, string? Severity,
    IReadOnlyList<string>? Tags, IReadOnlyList<string>? Scenarios, bool NegativeControl = false);
