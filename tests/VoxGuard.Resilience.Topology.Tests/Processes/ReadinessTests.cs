using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>Wait strategies: timeouts that say what and how long, and failing fast when the watched server dies.</summary>
[TestFixture]
public sealed class ReadinessTests : RunFixture
{
    [Test]
    public async Task A_server_that_dies_during_a_readiness_wait_fails_fast_with_its_exit_code_and_last_stderr_lines()
    {
        var doomed = await Run.StartProcessAsync(Specs.Shell("lagos-redis",
            "echo starting; echo 'FATAL: cannot bind 127.0.1.3:6379' >&2; sleep 0.2; exit 3"));
        var port = Specs.ClosedPort();
        var watch = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ServerProcessException>(() =>
            doomed.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(port).WithTimeout(TimeSpan.FromSeconds(30))));

        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "fails when the process exits, not at the 30 s timeout");
            Assert.That(error!.ExitCode, Is.EqualTo(3));
            Assert.That(error.ProcessName, Is.EqualTo("lagos-redis"));
            Assert.That(error.OutputTail, Is.EqualTo(new[] { "FATAL: cannot bind 127.0.1.3:6379" }));
            Assert.That(error.Message, Does.Contain("lagos-redis").And.Contain("exited with code 3")
                .And.Contain($"TCP port {port} to open").And.Contain("FATAL: cannot bind 127.0.1.3:6379"));
        });
    }

    [Test]
    public async Task The_direct_form_fails_fast_too_when_the_watched_server_exits()
    {
        var doomed = await Run.StartProcessAsync(Specs.Shell("doomed", "sleep 0.1; echo 'bye' >&2; exit 4"));
        var watch = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ServerProcessException>(() => WaitStrategy.UntilAsync(
            _ => Task.FromResult(false), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20), "the replica to catch up", doomed));

        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
            Assert.That(error!.ExitCode, Is.EqualTo(4));
            Assert.That(error.Message, Does.Contain("the replica to catch up").And.Contain("bye"));
        });
    }

    [Test]
    public async Task Waiting_for_a_server_that_already_exited_fails_at_once()
    {
        var gone = await Run.StartProcessAsync(Specs.Shell("gone", "exit 5"));
        await gone.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));

        var error = Assert.ThrowsAsync<ServerProcessException>(() => gone.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(Specs.ClosedPort())));

        Assert.That(error!.ExitCode, Is.EqualTo(5));
    }

    [Test]
    public async Task A_readiness_timeout_names_what_was_awaited_for_how_long_and_the_last_error()
    {
        var sleeper = await Run.StartProcessAsync(Specs.Sleep("lagos-sentinel"));
        var port = Specs.ClosedPort();

        var error = Assert.ThrowsAsync<ServerProcessException>(() =>
            sleeper.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(port).WithTimeout(TimeSpan.FromMilliseconds(300)).WithInterval(TimeSpan.FromMilliseconds(20))));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("lagos-sentinel").And.Contain($"timed out after 300ms waiting for TCP port {port} to open")
                .And.Contain("Connection refused").And.Contain("still running"));
            Assert.That(error.ExitCode, Is.Null);
            Assert.That(sleeper.HasExited, Is.False);
        });
    }

    [Test]
    public void Without_a_process_a_timeout_is_a_TimeoutException_naming_what_and_how_long()
    {
        var strategy = WaitStrategy.Until("the moon to rise", _ => Task.FromResult(false))
            .WithTimeout(TimeSpan.FromMilliseconds(200)).WithInterval(TimeSpan.FromMilliseconds(20));

        var error = Assert.ThrowsAsync<TimeoutException>(() => strategy.WaitAsync());

        Assert.That(error!.Message, Does.StartWith("Timed out after 200ms waiting for the moon to rise (").And.Contain("attempts"));
    }

    [Test]
    public void A_probe_that_throws_counts_as_not_ready_and_its_last_error_is_reported()
    {
        var attempts = 0;
        var strategy = WaitStrategy.Until("the primary to accept writes", _ =>
            ++attempts < 3 ? throw new InvalidOperationException($"read-only (attempt {attempts})") : Task.FromResult(true))
            .WithInterval(TimeSpan.FromMilliseconds(5));

        Assert.That(() => strategy.WaitAsync(), Throws.Nothing);
        Assert.That(attempts, Is.EqualTo(3));

        var failing = WaitStrategy.Until("the primary to accept writes", _ => throw new InvalidOperationException("READONLY You can't write"))
            .WithTimeout(TimeSpan.FromMilliseconds(100)).WithInterval(TimeSpan.FromMilliseconds(10));
        var error = Assert.ThrowsAsync<TimeoutException>(() => failing.WaitAsync());
        Assert.That(error!.Message, Does.Contain("last: READONLY You can't write"));
    }

    [Test]
    public async Task A_tcp_port_wait_completes_once_the_port_listens()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound but not listening: refused
        var endPoint = (IPEndPoint)socket.LocalEndPoint!;

        var wait = WaitStrategy.UntilTcpPortOpenAsync(endPoint, TimeSpan.FromSeconds(5));
        await Task.Delay(100);
        var completedBeforeListening = wait.IsCompleted;
        socket.Listen();
        await wait;

        Assert.That(completedBeforeListening, Is.False);
    }

    [TestCase("10.0.0.1")]
    [TestCase("192.168.1.10")]
    [TestCase("::1")]
    [TestCase("0.0.0.0")]
    public void Only_loopback_addresses_in_127_0_0_0_slash_8_can_be_probed(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => WaitStrategy.UntilTcpPortOpen(new IPEndPoint(IPAddress.Parse(address), 5060)));

        Assert.That(error!.Message, Does.Contain("127.0.0.0/8"));
    }

    [Test]
    public async Task Conditions_compose_and_are_awaited_in_order()
    {
        var order = new List<string>();
        var strategy = WaitStrategy.Until("the first", _ => { order.Add("first"); return Task.FromResult(true); })
            .And(WaitStrategy.Until("the second", _ => { order.Add("second"); return Task.FromResult(true); }).WithTimeout(TimeSpan.FromSeconds(2)));

        await strategy.WaitAsync();

        Assert.Multiple(() =>
        {
            Assert.That(order, Is.EqualTo(new[] { "first", "second" }));
            Assert.That(strategy.What, Is.EqualTo("the first, then the second"));
            Assert.That(strategy.Timeout, Is.EqualTo(WaitStrategy.DefaultTimeout + TimeSpan.FromSeconds(2)));
        });
    }

    [Test]
    public async Task An_output_wait_sees_a_line_written_before_or_after_it_began()
    {
        var server = await Run.StartProcessAsync(Specs.Shell("talker", "echo 'booting'; sleep 0.1; echo 'Ready to accept connections' >&2; sleep 300"));

        await server.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("booting").And(WaitStrategy.UntilOutputContains("Ready to accept"))
            .WithTimeout(TimeSpan.FromSeconds(5)));

        Assert.That(server.StandardErrorTail, Does.Contain("Ready to accept connections"));
    }

    [Test]
    public void An_output_wait_needs_a_process()
    {
        Assert.ThrowsAsync<InvalidOperationException>(() => WaitStrategy.UntilOutputContains("ready").WaitAsync());
    }

    [Test]
    public void Cancelling_a_wait_is_an_OperationCanceledException()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        Assert.That(() => WaitStrategy.Until("never", _ => Task.FromResult(false)).WaitAsync(cancellation.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }
}
