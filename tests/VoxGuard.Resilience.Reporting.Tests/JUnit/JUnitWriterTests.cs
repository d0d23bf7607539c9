using System.Xml.Linq;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.JUnit;

public sealed class JUnitWriterTests
{
    [Test]
    public async Task Junit_xml_is_well_formed_with_a_failure_per_missed_target_and_an_error_per_harness_error()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);

        var xml = XDocument.Load(summary.JUnitPath);
        var root = xml.Root!;
        Assert.That(root.Name.LocalName, Is.EqualTo("testsuites"));
        Assert.That(((int)root.Attribute("tests")!, (int)root.Attribute("failures")!, (int)root.Attribute("errors")!, (int)root.Attribute("skipped")!), Is.EqualTo((4, 1, 1, 0)));
        var suites = root.Elements("testsuite").ToList();
        Assert.That(suites.Select(suite => (string)suite.Attribute("name")!), Is.EqualTo(new[]
        {
            "VoxGuard.Resilience.Scenarios.RegionLossScenarios", "VoxGuard.Resilience.Scenarios.SteadyStateScenario",
        }));
        Assert.That(suites.Sum(suite => (int)suite.Attribute("tests")!), Is.EqualTo(4));

        var cases = root.Descendants("testcase").ToList();
        var failure = cases.Single(testCase => testCase.Element("failure") is not null).Element("failure")!;
        Assert.That((string)failure.Attribute("message")!, Does.StartWith("Failover target missed: failover"));
        var error = cases.Single(testCase => testCase.Element("error") is not null);
        Assert.That((string)error.Attribute("name")!, Does.Contain("abuja"));
        Assert.That((string)error.Element("error")!.Attribute("message")!, Does.StartWith("Harness/infrastructure error:"));
        Assert.That(cases.Single(testCase => ((string)testCase.Attribute("name")!).Contains("Negative", StringComparison.Ordinal)).Element("system-out")!.Value, Does.Contain("missed as designed"));
        Assert.That(cases.Select(testCase => double.Parse((string)testCase.Attribute("time")!, System.Globalization.CultureInfo.InvariantCulture)), Has.All.GreaterThan(0));
        Assert.That(suites[0].Element("properties")!.Elements("property").Select(property => (string)property.Attribute("name")!), Does.Contain("environment").And.Contain("harness.commit"));
    }
}
