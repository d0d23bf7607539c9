namespace VoxGuard.Resilience.Sip.Transactions;

/// <summary>The RFC 3261 timer base values and the clock the timers run on.</summary>
public sealed record SipTransactionOptions
{
    /// <summary>RTT estimate: first retransmission interval (Timers A, E, G); default 500 ms. Timers B, F, H, J are 64·T1.</summary>
    public TimeSpan T1 { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest retransmission interval for non-INVITE requests and INVITE responses; default 4 s.</summary>
    public TimeSpan T2 { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How long a message may linger in the network (Timers I and K); default 5 s.</summary>
    public TimeSpan T4 { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock of every timer and timestamp (inject a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Timer B / F / H / J: 64·T1 (32 s by default).</summary>
    public TimeSpan TransactionTimeout => T1 * 64;

    /// <summary>Throws when a value is out of range, naming every problem in one message.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (T1 <= TimeSpan.Zero)
        {
            problems.Add($"T1 must be positive (was {T1})");
        }

        if (T2 < T1)
        {
            problems.Add($"T2 must be at least T1 (was {T2}, T1 {T1})");
        }

        if (T4 < TimeSpan.Zero)
        {
            problems.Add($"T4 must not be negative (was {T4})");
        }

        if (TimeProvider is null)
        {
            problems.Add("TimeProvider is required");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid SIP transaction options: " + string.Join("; ", problems) + ".");
        }
    }
}
