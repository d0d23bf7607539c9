using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>Every configuration variant passes the servers' own syntax checks (haproxy -c, kamailio -c); nothing is started.</summary>
[TestFixture]
[Category("Functional")]
public sealed class SipConfigSyntaxTests
{
    private RunDirectory _run = null!;

    [SetUp]
    public void CreateRun() => _run = RunDirectory.Create(new RunDirectoryOptions { Root = $"/tmp/vg-sip-{Guid.NewGuid():N}"[..20] });

    [TearDown]
    public async Task RemoveRunAsync() => await _run.DisposeAsync();

    [TestCase("ci", "roundrobin", true, null)]
    [TestCase("documented", "source", false, null)]
    [TestCase("ci", "priority", true, null)]
    [TestCase("ci", "roundrobin", true, "{ latency: 10ms }")]
    public async Task Haproxy_accepts_the_generated_configuration(string profile, string mode, bool redispatch, string? accessLinks)
    {
        var path = _run.PathOf("haproxy.cfg");
        await File.WriteAllTextAsync(path, HaproxyConfig.For(SipEnvironments.InBlocks(41, profile, mode: mode, redispatch: redispatch, accessLinks: accessLinks), _run));

        var (code, output) = await CheckAsync("haproxy", "-c", "-f", path);

        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Not.Contain("WARNING").IgnoreCase, "a warning hides a setting HAProxy ignored");
    }

    [TestCase("tcp", true, null)]
    [TestCase("udp", true, null)]
    [TestCase("udp", false, null)]
    [TestCase("udp", true, "{ latency: 10ms }")]
    [TestCase("tcp", true, "{ latency: 10ms }")]
    public async Task Kamailio_accepts_every_generated_configuration(string transport, bool redispatch, string? accessLinks)
    {
        var environment = SipEnvironments.InBlocks(41, transport: transport, redispatch: redispatch, accessLinks: accessLinks);
        var configs = environment.Regions.ToDictionary(region => region.Name, region => KamailioConfig.For(environment, _run, region));
        configs["balancer"] = KamailioConfig.BalancerFor(environment, _run);

        foreach (var (name, config) in configs)
        {
            var path = _run.PathOf($"{name}.cfg");
            await File.WriteAllTextAsync(path, config);
            var (code, output) = await CheckAsync("kamailio", "-c", "-f", path);
            Assert.That(code, Is.Zero, $"{name}: {output}");
        }
    }

    private static async Task<(int Code, string Output)> CheckAsync(string program, params string[] arguments)
    {
        var executable = new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" }.Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists);
        if (executable is null)
        {
            Assert.Fail($"{program} is not installed: apt-get install -y {program}, or run ./resilience which installs it.");
        }

        var start = new System.Diagnostics.ProcessStartInfo(executable!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await output + await errors);
    }
}
