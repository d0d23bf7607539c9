namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>Whether the global balancer sends calls to a region.</summary>
public enum BalancerServerStatus
{
    /// <summary>Passing its health checks and taking new calls (HAProxy UP, including "UP 1/3" while failing; dispatcher A/T).</summary>
    Up,

    /// <summary>Failed its health checks: no new calls (HAProxy DOWN, including "DOWN 1/2" while recovering; dispatcher I).</summary>
    Down,

    /// <summary>Taken out by an operator (HAProxy MAINT; dispatcher D).</summary>
    Maintenance,

    /// <summary>Up but taking no new calls (HAProxy DRAIN or NOLB).</summary>
    Draining,
}

/// <summary>How an operator sets a region in the balancer (<see cref="SipProxyTier.SetAdminStateAsync"/>).</summary>
public enum BalancerAdminState
{
    /// <summary>In service: its health checks decide.</summary>
    Ready,

    /// <summary>Finishes its calls, takes no new ones (HAProxy drain; the dispatcher has no drain and disables it).</summary>
    Drain,

    /// <summary>Out of the balancer (HAProxy maint; dispatcher disabled).</summary>
    Maintenance,
}

/// <summary>One region as the global balancer sees it at one moment.</summary>
/// <param name="Region">The region's name (the balancer's server name).</param>
/// <param name="Status">Whether it takes calls.</param>
/// <param name="RawStatus">The balancer's own words: HAProxy's status ("UP", "DOWN 1/2", "MAINT") or the dispatcher's flags ("AP").</param>
/// <param name="Weight">Its current weight.</param>
/// <param name="CheckStatus">The last health check's result: HAProxy's check_status ("L7OK", "L4CON", "L7TOUT"…), or the
/// dispatcher's flags (it keeps no per-check result).</param>
public sealed record BalancerServerState(string Region, BalancerServerStatus Status, string RawStatus, int Weight, string CheckStatus)
{
    /// <summary>True when it takes new calls.</summary>
    public bool IsUp => Status == BalancerServerStatus.Up;

    /// <summary>
    /// <see cref="CheckStatus"/> for a reader: HAProxy's "HANA" (health analyze) is its circuit breaker, not a check.
    /// </summary>
    public string CheckStatusInWords => CheckStatus == "HANA" ? "HANA: its circuit breaker, calls' connections failing" : CheckStatus;
}
