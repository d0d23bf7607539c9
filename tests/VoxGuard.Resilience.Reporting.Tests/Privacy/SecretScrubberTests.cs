using VoxGuard.Resilience.Reporting.Privacy;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Privacy;

public sealed class SecretScrubberTests
{
    [TestCase("password=hunter2 next", "password=*** next")]
    [TestCase("Host=127.0.1.20;Username=voxguard;Password=hunter2;Database=voxguard", "Host=127.0.1.20;Username=voxguard;Password=***;Database=voxguard")]
    [TestCase("{\"password\": \"hun\\\"ter2\", \"user\": \"x\"}", "{\"password\": \"***\", \"user\": \"x\"}")]
    [TestCase("redis:\n  password: hunter2\n", "redis:\n  password: ***\n")]
    [TestCase("requirepass hunter2", "requirepass ***")]
    [TestCase("masterauth \"hunter2\"", "masterauth ***")]
    [TestCase("sentinel auth-pass voxguard-master hunter2", "sentinel auth-pass voxguard-master ***")]
    [TestCase("> AUTH default hunter2", "> AUTH default ***")]
    [TestCase("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql")]
    [TestCase("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "Authorization: Bearer ***")]
    [TestCase("GET /?token=abcdef123456&x=1", "GET /?token=***&x=1")]
    [TestCase("api_key: sk-12345", "api_key: ***")]
    [TestCase("postgres://voxguard:hunter2@127.0.1.20:5432/db", "postgres://voxguard:***@127.0.1.20:5432/db")]
    public void Known_secret_patterns_are_masked(string text, string expected) =>
        Assert.That(SecretScrubber.Scrub(text), Is.EqualTo(expected));

    [TestCase("Server sip/lagos is DOWN, reason: Layer7 timeout")]
    [TestCase("http://127.0.0.1:8474/proxies/lagos-abuja-pg")]
    [TestCase("auth failed for user voxguard")]
    [TestCase("cancellationToken=default, max_tokens=5")]
    [TestCase("start_s,end_s,succeeded,region\n1.0000,1.5000,True,lagos")]
    public void Ordinary_evidence_is_left_as_it_is(string text) =>
        Assert.That(SecretScrubber.Scrub(text), Is.EqualTo(text));

    [Test]
    public void Scrubbing_twice_changes_nothing_more() =>
        Assert.That(SecretScrubber.Scrub(SecretScrubber.Scrub("password=a requirepass b Bearer abcdefghijk")), Is.EqualTo("password=*** requirepass *** Bearer ***"));

    [Test]
    public async Task No_file_of_a_built_report_holds_a_secret_the_servers_printed()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);

        var files = Directory.EnumerateFiles(run.RunDirectory, "*", SearchOption.AllDirectories).Where(path => !path.EndsWith(".png", StringComparison.Ordinal)).ToList();
        Assert.That(files, Has.Count.GreaterThan(20));
        Assert.That(files.Where(path => File.ReadAllText(path).Contains(FakeRun.Secret, StringComparison.Ordinal)), Is.Empty);
        var logs = summary.Results.SelectMany(result => result.Attachments).First(attachment => attachment.Name.StartsWith("server logs", StringComparison.Ordinal));
        Assert.That(File.ReadAllText(Path.Combine(summary.ResultsDirectory, logs.Source)), Does.Contain("requirepass ***").And.Contain("Server sip/lagos is DOWN"));
    }
}
