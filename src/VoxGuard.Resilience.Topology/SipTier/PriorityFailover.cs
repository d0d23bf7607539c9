using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// One entry of the failover history (the geo-redundancy guide's <c>geo_failover_history</c>): from, to, why, whether
/// automatic, when, and how long it took.
/// </summary>
/// <param name="From">The region that served before, or null.</param>
/// <param name="To">The region serving after.</param>
/// <param name="Reason">Why, in words ("abuja DOWN (L4CON)", "failback after 5 s at health 100 %").</param>
/// <param name="Automatic">True when the controller decided it (always, here: there is no manual approval step).</param>
/// <param name="OccurredAt">Wall-clock time, for the record.</param>
/// <param name="At">When it happened on the policy's clock (offset the caller chose).</param>
/// <param name="Duration">For a failover, how long the serving region had been failing (last seen healthy to the switch);
/// for a failback, how long the region had been back before traffic returned.</param>
public sealed record FailoverRecord(string? From, string To, string Reason, bool Automatic, DateTimeOffset OccurredAt, TimeSpan At, TimeSpan Duration)
{
    /// <summary>"lagos → abuja: lagos DOWN (L4CON), automatic, 1.2 s".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{From ?? "none"} → {To}: {Reason}, {(Automatic ? "automatic" : "manual")}, after {Duration.TotalSeconds:F1} s");
}

/// <summary>
/// The decisions of active/standby routing by priority, from balancer observations: the serving region is the
/// highest-priority healthy one; when it fails, the next takes over and a failed priority-1 region is held out (its
/// balancer weight 0) so it cannot take calls back the moment its checks pass; it gets them back only after the
/// failback delay, with its health (the share of observations it was up over the last delay) at the threshold — or
/// never, when failback is disabled. Pure: the caller polls and applies the weight changes.
/// </summary>
public sealed class PriorityFailoverPolicy
{
    private readonly EnvironmentDefinition _environment;
    private readonly List<FailoverRecord> _history = [];
    private readonly Dictionary<string, TimeSpan> _lastUp = new(StringComparer.Ordinal);
    private readonly Queue<(TimeSpan At, bool Up)> _homeObservations = new();
    private TimeSpan? _homeBackSince;
    private bool _homeHeld;

    public PriorityFailoverPolicy(EnvironmentDefinition environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        _environment = environment;
        Home = environment.ByPriority[0].Name;
        Serving = Home;
    }

    /// <summary>The priority-1 region.</summary>
    public string Home { get; }

    /// <summary>The region calls go to now.</summary>
    public string Serving { get; private set; }

    /// <summary>True while the failed priority-1 region is held out of rotation, waiting for its failback.</summary>
    public bool HomeHeld => _homeHeld;

    /// <summary>Every failover and failback so far, oldest first.</summary>
    public IReadOnlyList<FailoverRecord> History => _history;

    /// <summary>
    /// Takes one observation of every region's balancer state at <paramref name="now"/>; returns the weight changes to
    /// apply (region → weight), empty when nothing changes.
    /// </summary>
    public IReadOnlyDictionary<string, int> Observe(IReadOnlyList<BalancerServerState> states, TimeSpan now, DateTimeOffset wallClock)
    {
        ArgumentNullException.ThrowIfNull(states);
        var byRegion = states.ToDictionary(state => state.Region, StringComparer.Ordinal);
        // Healthy, not merely up: HAProxy reports "UP 1/3" while checks already fail, so that counts as failing.
        foreach (var state in states.Where(state => state.IsUp && !state.RawStatus.Contains('/', StringComparison.Ordinal)))
        {
            _lastUp[state.Region] = now;
        }

        var changes = new Dictionary<string, int>(StringComparer.Ordinal);
        if (byRegion.TryGetValue(Serving, out var serving) && !serving.IsUp)
        {
            var next = _environment.ByPriority.FirstOrDefault(region => region.Name != Serving
                && !(region.Name == Home && _homeHeld) && byRegion.TryGetValue(region.Name, out var candidate) && candidate.IsUp);
            if (next is not null)
            {
                var since = _lastUp.GetValueOrDefault(Serving, now);
                _history.Add(new FailoverRecord(Serving, next.Name, $"{Serving} {serving.RawStatus} ({serving.CheckStatusInWords})", true, wallClock, now, now - since));
                if (Serving == Home)
                {
                    _homeHeld = true;
                    _homeBackSince = null;
                    _homeObservations.Clear();
                    changes[Home] = 0;
                }

                Serving = next.Name;
            }
        }

        if (_homeHeld && byRegion.TryGetValue(Home, out var home))
        {
            ConsiderFailback(home, now, wallClock, changes);
        }

        return changes;
    }

    private void ConsiderFailback(BalancerServerState home, TimeSpan now, DateTimeOffset wallClock, Dictionary<string, int> changes)
    {
        var delay = _environment.Failback.Delay;
        _homeObservations.Enqueue((now, home.IsUp));
        while (_homeObservations.Count > 0 && _homeObservations.Peek().At < now - delay)
        {
            _homeObservations.Dequeue();
        }

        if (home.IsUp)
        {
            _homeBackSince ??= now;
        }

        if (!_environment.Failback.Enabled || !home.IsUp || _homeBackSince is not { } back || now - back < delay)
        {
            return;
        }

        var health = (double)_homeObservations.Count(observation => observation.Up) / _homeObservations.Count;
        if (health < _environment.Failback.HealthThreshold)
        {
            return;
        }

        _history.Add(new FailoverRecord(Serving, Home, string.Create(CultureInfo.InvariantCulture,
            $"failback after {delay.TotalSeconds:F0} s at health {health:P0} (threshold {_environment.Failback.HealthThreshold:P0})"), true, wallClock, now, now - back));
        changes[Home] = _environment.Region(Home).Weight;
        Serving = Home;
        _homeHeld = false;
        _homeBackSince = null;
        _homeObservations.Clear();
    }
}

/// <summary>
/// Runs <see cref="PriorityFailoverPolicy"/> against the running balancer: polls its states every 100 ms and applies
/// the weight changes. Started by the topology when the balancer's mode is priority.
/// </summary>
public sealed class PriorityFailoverController : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private readonly long _startedAt = Stopwatch.GetTimestamp();

    private PriorityFailoverController(SipProxyTier sip)
    {
        Policy = new PriorityFailoverPolicy(sip.Environment);
        _loop = RunAsync(sip, _stopping.Token);
    }

    /// <summary>The decisions so far (serving region, history).</summary>
    public PriorityFailoverPolicy Policy { get; }

    /// <summary>The failover history so far; <see cref="FailoverRecord.At"/> counts from the controller's start.</summary>
    public IReadOnlyList<FailoverRecord> History => [.. Policy.History];

    /// <summary>The Stopwatch timestamp <see cref="FailoverRecord.At"/> counts from.</summary>
    public long StartedAt => _startedAt;

    /// <summary>Starts watching <paramref name="sip"/>'s balancer.</summary>
    public static PriorityFailoverController Start(SipProxyTier sip)
    {
        ArgumentNullException.ThrowIfNull(sip);
        return new PriorityFailoverController(sip);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(SipProxyTier sip, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var states = await sip.BalancerStatesAsync(cancellationToken).ConfigureAwait(false);
                Policy.Observe(states, Stopwatch.GetElapsedTime(_startedAt), DateTimeOffset.UtcNow);

                // Reconcile rather than apply once: a weight change that failed is retried on the next poll.
                var home = states.Single(state => state.Region == Policy.Home);
                var wanted = Policy.HomeHeld ? 0 : sip.Environment.Region(Policy.Home).Weight;
                if (home.Weight != wanted)
                {
                    await sip.SetWeightAsync(Policy.Home, wanted, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (SipBalancerException)
            {
                // the admin socket busy or the balancer restarting: the next poll decides
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}
