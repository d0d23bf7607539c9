namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// The global SIP balancer refused or could not run an admin command (HAProxy's stats socket, Kamailio's RPC through
/// kamcmd). The message names the balancer, the command and what it answered.
/// </summary>
public sealed class SipBalancerException : Exception
{
    /// <summary>Creates the exception; <paramref name="command"/> is the admin command that failed.</summary>
    public SipBalancerException(string message, string command, Exception? inner = null)
        : base(message, inner)
    {
        Command = command;
    }

    /// <summary>The admin command that failed.</summary>
    public string Command { get; }
}
