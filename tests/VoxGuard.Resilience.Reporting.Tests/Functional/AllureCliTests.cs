using System.Text.Json;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Functional;

/// <summary>The real Allure 3 CLI (tools/node_modules) renders the results this project writes.</summary>
[Category("Functional")]
public sealed class AllureCliTests
{
    private static AllureCli Cli => AllureCli.Find(Repository.Root)
        ?? throw new AssertionException($"The Allure CLI is not installed ({Path.Combine(Repository.Root, AllureCli.RelativePath)}): {AllureCli.InstallHint}.");

    [Test]
    public async Task The_real_allure_cli_lists_every_scenario_with_its_steps_attachments_and_categories()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { AllureCli = Cli });

        Assert.That(summary.HtmlIndexPath, Is.EqualTo(Path.Combine(run.RunDirectory, "allure-report", "index.html")));
        Assert.That(summary.HtmlNote, Is.Null);
        var report = Path.Combine(run.RunDirectory, "allure-report");
        var rendered = Directory.GetFiles(Path.Combine(report, "data", "test-results"), "*.json")
            .Select(path => JsonDocument.Parse(File.ReadAllText(path)).RootElement).ToList();
        Assert.That(rendered.Select(result => result.GetProperty("fullName").GetString()), Is.EquivalentTo(summary.Results.Select(result => result.FullName)));

        foreach (var written in summary.Results)
        {
            var shown = rendered.Single(result => result.GetProperty("fullName").GetString() == written.FullName);
            Assert.That(shown.GetProperty("status").GetString(), Is.EqualTo(written.Status.ToString().ToLowerInvariant()), written.FullName);
            var entries = shown.GetProperty("steps").EnumerateArray().ToList();
            var steps = entries.Where(entry => entry.GetProperty("type").GetString() == "step").Select(entry => entry.GetProperty("name").GetString()).ToList();
            var attachments = entries.Where(entry => entry.GetProperty("type").GetString() == "attachment").Select(entry => entry.GetProperty("link")).ToList();
            Assert.That(steps, Is.EqualTo(written.Steps.Select(step => step.Name)), written.FullName);
            Assert.That(attachments.Select(link => link.GetProperty("name").GetString()), Is.EqualTo(written.Attachments.Select(attachment => attachment.Name)), written.FullName);
            Assert.That(attachments.Select(link => link.GetProperty("missed").GetBoolean()), Has.None.True, "every attachment file found");
            foreach (var link in attachments)
            {
                Assert.That(File.Exists(Path.Combine(report, "data", "attachments", link.GetProperty("id").GetString() + link.GetProperty("ext").GetString())), Is.True);
            }
        }

        var lagos = rendered.Single(result => result.GetProperty("fullName").GetString()!.Contains("Losing_lagos", StringComparison.Ordinal));
        var verdicts = lagos.GetProperty("steps").EnumerateArray().Last(entry => entry.GetProperty("type").GetString() == "step");
        Assert.That(verdicts.GetProperty("steps").EnumerateArray().Count(), Is.EqualTo(3), "a nested step per verdict");

        var categories = File.ReadAllText(Path.Combine(report, "widgets", "categories.json"));
        Assert.That(categories, Does.Contain("\"Failover target missed\"").And.Contain("\"Harness/infrastructure error\""));
        var index = File.ReadAllText(summary.HtmlIndexPath!);
        Assert.That(index, Does.Not.Contain("googletagmanager").And.Not.Contain("gtag("), "the report stays offline");
    }

    [Test]
    public async Task Each_run_adds_one_entry_to_the_shared_history_and_regenerating_a_run_adds_none()
    {
        using var run = FakeRun.Default();
        var history = Path.Combine(run.ReportsDirectory, "history.jsonl");

        await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { AllureCli = Cli });
        Assert.That(File.ReadAllLines(history), Has.Length.EqualTo(1));
        await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { AllureCli = Cli });
        Assert.That(File.ReadAllLines(history), Has.Length.EqualTo(1), "a regenerated run is counted once");

        using var entry = JsonDocument.Parse(File.ReadAllLines(history)[0]);
        Assert.That(entry.RootElement.GetProperty("testResults").EnumerateObject().Count(), Is.EqualTo(4));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.RunDirectory, ReportBuilder.AllureConfigFile))).RootElement;
        Assert.That(config.GetProperty("historyPath").GetString(), Is.EqualTo(history));
    }

    [Test]
    public async Task The_cli_reports_its_version()
    {
        Assert.That(await Cli.VersionAsync(), Does.Match(@"^3\.\d+\.\d+$"));
    }
}
