using VoxGuard.Resilience.Drills;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// The whole suite's teardown: the topology the last scenario left for a next one (<see cref="ScenarioRun.LeaveTopology"/>)
/// is stopped, so no server outlives the run.
/// </summary>
/// <remarks>
/// Fixtures carry an <see cref="OrderAttribute"/> where one leaves its topology to the next: steady state and link
/// flapping leave it healthy, Lagos's loss leaves it failed over for the failback, the failback leaves it healthy.
/// Every taker checks that state on the servers first and starts a fresh topology when it does not hold, so the order
/// saves time and never decides a verdict.
/// </remarks>
[SetUpFixture]
public sealed class ScenarioSuite
{
    [OneTimeTearDown]
    public Task StopTheLeftTopologyAsync() => ScenarioRun.DisposeLeftTopologyAsync();
}
