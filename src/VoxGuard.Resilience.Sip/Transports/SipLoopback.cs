using System.Net;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>
/// The project's network rule (<see cref="NetworkRule"/>) as the SIP stack applies it: it binds and talks to loopback
/// (127.0.0.0/8), or to a network the harness made (a containers environment's region networks), nothing else.
/// </summary>
public static class SipLoopback
{
    /// <summary>True for an address the rule admits (127.0.0.0/8, or one of <see cref="NetworkRule.OwnNetworks"/>).</summary>
    public static bool Admits(IPAddress address) => NetworkRule.Admits(address);

    /// <summary>Throws unless the rule admits <paramref name="endPoint"/>.</summary>
    /// <exception cref="ArgumentException">Not a loopback address; the message names it and the rule.</exception>
    public static void Ensure(IPEndPoint endPoint, string role)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Ensure(endPoint.Address, role, endPoint.ToString());
    }

    /// <summary>Throws unless the rule admits <paramref name="address"/>.</summary>
    /// <exception cref="ArgumentException">Not a loopback address; the message names it and the rule.</exception>
    public static void Ensure(IPAddress address, string role, string? shown = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!NetworkRule.Admits(address))
        {
            throw new ArgumentException(
                $"Refusing {role} {shown ?? address.ToString()}: the SIP stack talks to {NetworkRule.Describe()}, the network rule of this project. Use a 127.x.y.z address.",
                nameof(address));
        }
    }
}
