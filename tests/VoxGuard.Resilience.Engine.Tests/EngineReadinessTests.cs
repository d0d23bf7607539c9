using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>
/// An ACM engine is ready for load only once calls through its region's proxy are answered (<see cref="EngineLauncher.ReadyForLoadAsync"/>):
/// a rejecting engine keeps the topology from being declared healthy, and the error says why. A SIP server of the
/// test's own stands at Lagos's proxy address (TCP), answering as the proxy relays the engine's answer; the engine
/// process the check watches is a sleeper. Block 127.0.154.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class EngineReadinessTests
{
    private static readonly RegionDefinition Lagos = TestPaths.LocalInBlocks(154).Region("lagos");
    private RunDirectory _run = null!;
    private ManagedProcess _engine = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _run = RunDirectory.Create();
        _engine = await _run.StartProcessAsync(new ProcessSpec("lagos-engine", "sleep", "coreutils") { Arguments = ["300"] });
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _engine.DisposeAsync();
        _run.Dispose();
    }

    [Test]
    public async Task Ready_after_every_round_of_calls_at_once_through_the_proxy_is_answered()
    {
        await using var proxy = ProxyAnswering(CallDecision.Answer);

        var done = await EngineLauncher.Instance.ReadyForLoadAsync(Lagos, _engine, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(proxy.Counters.Invites, Is.EqualTo(EngineLauncher.ReadyRounds * EngineLauncher.ReadyCallsPerRound));
            Assert.That(proxy.Counters.Byes, Is.EqualTo(proxy.Counters.Invites), "every call hung up");
            Assert.That(done, Does.StartWith("lagos's engine answered 3×4 calls through its proxy in "));
        });
    }

    [Test]
    public async Task An_engine_rejecting_calls_is_not_ready_and_the_error_names_it_and_the_rejection()
    {
        await using var proxy = ProxyAnswering(CallDecision.Reject(500, "postgres write not acknowledged"));
        var launcher = new EngineLauncher { ReadyWithin = TimeSpan.FromSeconds(1) };

        var error = Assert.ThrowsAsync<ServerProcessException>(() => launcher.ReadyForLoadAsync(Lagos, _engine, CancellationToken.None));
        TestContext.Out.WriteLine(error!.Message);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("lagos-engine").And.Contain("through lagos's proxy answered by its engine"));
            Assert.That(error.Message, Does.Contain("Rejected: 500 postgres write not acknowledged"));
            Assert.That(proxy.Counters.Invites, Is.GreaterThanOrEqualTo(EngineLauncher.ReadyCallsPerRound), "it kept trying until the deadline");
        });
    }

    private static SipUserAgentServer ProxyAnswering(CallDecision decision) =>
        new(new SipUasOptions { TcpEndPoint = Lagos.Sip.TcpEndPoint, OnInvite = (_, _) => ValueTask.FromResult(decision) });
}
