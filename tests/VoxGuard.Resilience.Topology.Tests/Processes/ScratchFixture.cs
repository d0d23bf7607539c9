using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>A fresh scratch root per test, removed with everything started in it even when the test fails.</summary>
[NonParallelizable]
public abstract class ScratchFixture
{
    private protected Scratch Scratch { get; private set; } = null!;

    [SetUp]
    public void CreateScratch() => Scratch = new Scratch();

    [TearDown]
    public async Task CleanUpScratch() => await Scratch.DisposeAsync();
}

/// <summary>A scratch root with one run directory already created in it.</summary>
public abstract class RunFixture : ScratchFixture
{
    protected RunDirectory Run { get; private set; } = null!;

    [SetUp]
    public void CreateRun() => Run = Scratch.CreateRun();
}
