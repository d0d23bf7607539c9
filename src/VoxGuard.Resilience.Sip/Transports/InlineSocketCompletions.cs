namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>
/// Runs a process's socket completions on the runtime's socket event thread instead of handing each one to a
/// thread-pool worker. For the link server in <c>up</c> and the ACM engines, whose continuations only parse, queue and
/// send: under SIP load through the topology every hand-off was a futex wake and a context switch, the largest cost
/// left in those processes once thread-pool spinning was off (docs/measured-facts.md, "Thread-pool spinning and socket
/// completions"). Not for the load generator: all its parsing would then run on the one event thread.
/// </summary>
/// <remarks>
/// .NET reads <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> once, when the process first uses a socket, so
/// <see cref="Enable"/> must run before that. Code continuing after a socket await then must not block (no
/// sync-over-async): it would hold up every socket of the process. Child processes inherit the setting.
/// </remarks>
public static class InlineSocketCompletions
{
    /// <summary>The runtime's switch.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline completions on for this process (unless the environment already says otherwise).</summary>
    public static void Enable()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
