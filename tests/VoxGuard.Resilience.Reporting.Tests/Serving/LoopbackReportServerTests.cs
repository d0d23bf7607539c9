using System.Net;
using VoxGuard.Resilience.Reporting.Serving;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Serving;

public sealed class LoopbackReportServerTests
{
    [Test]
    public async Task A_rendered_report_is_served_on_loopback_and_nothing_outside_it()
    {
        using var temp = new TempDirectory();
        var report = Directory.CreateDirectory(Path.Combine(temp.Path, "allure-report")).FullName;
        File.WriteAllText(Path.Combine(report, "index.html"), "<html>report</html>");
        Directory.CreateDirectory(Path.Combine(report, "data"));
        File.WriteAllText(Path.Combine(report, "data", "a.json"), "{}");
        File.WriteAllText(Path.Combine(temp.Path, "secret.txt"), "outside");

        await using var server = LoopbackReportServer.Start(report);
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };

        Assert.That(server.Address.Host, Is.EqualTo("127.0.0.1"));
        Assert.That(await client.GetStringAsync("/"), Is.EqualTo("<html>report</html>"));
        using var json = await client.GetAsync("data/a.json");
        Assert.That(json.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        using var outside = await client.GetAsync("/%2e%2e/secret.txt");
        Assert.That(outside.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public void A_directory_without_a_rendered_report_is_refused()
    {
        using var temp = new TempDirectory();

        Assert.That(() => LoopbackReportServer.Start(temp.Path), Throws.TypeOf<ReportException>().With.Message.Contains("has no index.html"));
    }
}
