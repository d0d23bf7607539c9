using System.Diagnostics;

namespace VoxGuard.Resilience.Topology;

/// <summary>
/// The phases of a start or a stop, each timed on the run's clock (<see cref="Stopwatch.GetTimestamp"/>): where the
/// seconds of <see cref="Local.LocalTopology.StartAsync"/> go, tier by tier. Tiers starting side by side record into the
/// same instance, so it is thread-safe; <see cref="Phases"/> lists them in the order they began (overlapping phases ran
/// in parallel).
/// </summary>
public sealed class PhaseTimings
{
    private readonly List<TopologyOperation> _phases = [];
    private readonly Lock _gate = new();

    /// <summary>Every phase recorded so far, in the order they began.</summary>
    public IReadOnlyList<TopologyOperation> Phases
    {
        get
        {
            lock (_gate)
            {
                return [.. _phases.OrderBy(phase => phase.StartedAt)];
            }
        }
    }

    /// <summary>Records a phase that began at <paramref name="startedAt"/> and ended now.</summary>
    public TopologyOperation Record(string what, long startedAt)
    {
        var phase = TopologyOperation.Since(what, startedAt);
        lock (_gate)
        {
            _phases.Add(phase);
        }

        return phase;
    }

    /// <summary>Runs <paramref name="phase"/> and records how long it took (only when it succeeds).</summary>
    public async Task TimeAsync(string what, Func<Task> phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        var started = Stopwatch.GetTimestamp();
        await phase().ConfigureAwait(false);
        Record(what, started);
    }

    /// <summary>Runs <paramref name="phase"/> and records how long it took (only when it succeeds); returns its result.</summary>
    public async Task<T> TimeAsync<T>(string what, Func<Task<T>> phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        var started = Stopwatch.GetTimestamp();
        var result = await phase().ConfigureAwait(false);
        Record(what, started);
        return result;
    }
}
