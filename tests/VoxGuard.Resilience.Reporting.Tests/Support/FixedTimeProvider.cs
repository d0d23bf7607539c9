namespace VoxGuard.Resilience.Reporting.Tests.Support;

/// <summary>A clock that always says the same time.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
