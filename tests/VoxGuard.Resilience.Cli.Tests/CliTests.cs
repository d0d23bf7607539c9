using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Links.Client;

namespace VoxGuard.Resilience.Cli.Tests;

[TestFixture]
public sealed class CliTests
{
    [Test]
    public async Task Links_serve_answers_the_toxiproxy_api_and_stops_cleanly_on_sigterm()
    {
        using var cli = CliProcess.Start("links", "serve", "--listen", "127.0.0.1:0");
        var banner = await cli.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(20));
        var apiAddress = new Uri(banner.Split("listening on ")[1].Split(' ')[0]);
        using var client = new LinkClient(apiAddress);
        var proxy = await client.CreateProxyAsync(new LinkProxySpec("lagos-abuja", "127.0.0.1:0", "127.0.0.1:9"));
        var proxyEndpoint = IPEndPoint.Parse(proxy.Listen);

        cli.SendSignal("TERM");
        var exitCode = await cli.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, cli.Error);
            Assert.That(cli.Output, Does.Contain("Stopping"));
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Loopback, apiAddress.Port)), Is.False, "the API port is still open");
            Assert.That(Loopback.IsListening(proxyEndpoint), Is.False, "a proxy is still listening");
        });
    }

    [Test]
    public async Task Links_serve_on_a_taken_port_fails_with_one_message_naming_the_fix()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;

        var (exitCode, output, error) = await CliProcess.RunAsync("links", "serve", "--listen", $"127.0.0.1:{port}");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain($"could not listen on 127.0.0.1:{port}").And.Contain("choose another port"));
            Assert.That(error, Does.Not.Contain("   at "), "no stack trace for a user error");
            Assert.That(output, Is.Empty);
        });
    }

    [TestCase("10.1.2.3:8474", "not a loopback address")]
    [TestCase("localhost", "is not an address:port")]
    [TestCase("127.0.0.1:99999", "is not an address:port")]
    public async Task Links_serve_refuses_a_bad_listen_address_before_starting_anything(string listen, string expected)
    {
        var (exitCode, _, error) = await CliProcess.RunAsync("links", "serve", "--listen", listen);

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain(expected));
        });
    }

    [Test]
    public async Task Drill_with_an_unknown_suite_runs_nothing_and_names_the_choices()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("drill", "--suite", "everything");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain("--suite 'everything' must be gate, drill or dr"));
            Assert.That(output, Does.Not.Contain("Drill:"), "nothing started");
        });
    }

    [Test]
    public async Task Drill_with_an_unknown_profile_runs_nothing_and_lists_the_known_ones()
    {
        var (exitCode, _, error) = await CliProcess.RunAsync("drill", "--profile", "weekly");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain("weekly").And.Contain("ci").And.Contain("documented"));
        });
    }
}

[TestFixture]
public sealed class EnvironmentCommandTests
{
    [Test]
    public async Task Env_reports_that_the_documented_health_checks_cannot_meet_the_failover_target()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("env", "--env", "local", "--profile", "documented");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, error);
            Assert.That(output, Does.Contain("lagos    primary      70"));
            Assert.That(output, Does.Contain("FINDING: detection alone takes up to 50 s").And.Contain("beyond the 30 s failover target: these timings cannot meet it without calls to trip the circuit breaker."));
            Assert.That(output, Does.Contain("Circuit breaker: while calls flow, a region to which 5 in a row fail to connect (TCP) or get no reply (UDP) is marked down at once; it comes back after 2 good checks."));
        });
    }

    [Test]
    public async Task Env_with_the_ci_profile_detects_within_the_target()
    {
        var (exitCode, output, _) = await CliProcess.RunAsync("env", "--profile", "ci");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero);
            Assert.That(output, Does.Contain("marked down within 1.5 s").And.Not.Contain("FINDING"));
        });
    }

    [Test]
    public async Task Env_with_a_broken_file_fails_with_one_message_naming_every_problem_and_the_fix()
    {
        var file = Path.Combine(Path.GetTempPath(), $"voxguard-env-{Guid.NewGuid():N}.yaml");
        var yaml = await File.ReadAllTextAsync(Path.Combine(CliProcess.RepositoryRoot, "environments", "local.yaml"));
        await File.WriteAllTextAsync(file, yaml.Replace("weight: 15", "weight: 150", StringComparison.Ordinal).Replace("address: 127.0.0.10", "address: 10.0.0.10", StringComparison.Ordinal));
        try
        {
            var (exitCode, output, error) = await CliProcess.RunAsync("env", "--env", file);

            Assert.Multiple(() =>
            {
                Assert.That(exitCode, Is.EqualTo(2));
                Assert.That(output, Is.Empty, "nothing is shown for a broken environment");
                Assert.That(error, Does.Contain("weight must be between 0 and 100").And.Contain("127.0.0.0/8").And.Contain("Fix the file"));
                Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), "one message");
            });
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Env_with_an_unknown_profile_lists_the_known_ones()
    {
        var (exitCode, _, error) = await CliProcess.RunAsync("env", "--profile", "weekend");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain("no profile 'weekend'").And.Contain("known: documented, ci"));
        });
    }
}

[TestFixture]
public sealed class LinksServeWithEnvironmentTests
{
    [Test]
    public async Task Links_serve_with_an_environment_creates_its_inter_region_links_and_removes_them_on_stop()
    {
        // The local environment moved to blocks 127.0.51-53.x so a running topology is never disturbed.
        var file = EnvironmentFile.WriteInBlocks(51, 51);
        try
        {
            using var cli = CliProcess.Start("links", "serve", "--listen", "127.0.0.1:0", "--env", file);
            var banner = await cli.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(30));
            using var client = new LinkClient(new Uri(banner.Split("listening on ")[1].Split(' ')[0]));
            var proxies = await client.GetProxiesAsync();
            var switchboardWasListening = Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.51.200"), 5432));

            cli.SendSignal("TERM");
            var exitCode = await cli.WaitForExitAsync(TimeSpan.FromSeconds(10));

            Assert.Multiple(() =>
            {
                Assert.That(proxies, Has.Count.EqualTo(54), "3 pairs × 9 services × 2 directions");
                Assert.That(switchboardWasListening, Is.True, "lagos's link-facing postgres address");
                Assert.That(proxies["abuja-lagos-pg"].Listen, Is.EqualTo("127.0.52.100:5432"));
                Assert.That(proxies["abuja-lagos-pg"].Upstream, Is.EqualTo("127.0.51.4:5432"));
                Assert.That(cli.Output, Does.Contain("abuja-lagos-pg"));
                Assert.That(exitCode, Is.Zero, cli.Error);
                Assert.That(cli.Output, Does.Contain("lagos    sip 127.0.51.200:5060"), "the link-facing addresses are shown");
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.52.100"), 5432)), Is.False, "a link is still listening");
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.51.200"), 5432)), Is.False, "the switchboard is still listening");
            });
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Links_serve_with_an_unknown_environment_starts_nothing()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("links", "serve", "--listen", "127.0.0.1:0", "--env", "mars");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error, Does.Contain("No environment 'mars'").And.Contain("known: ").And.Contain("local)"));
            Assert.That(output, Does.Not.Contain("listening"));
        });
    }
}
