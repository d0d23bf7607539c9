using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>The project's network rule: the harness binds and talks to 127.0.0.0/8 only.</summary>
public static class SipLoopback
{
    /// <summary>True for an IPv4 address in 127.0.0.0/8.</summary>
    public static bool IsLoopback(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] == 127;
    }

    /// <summary>Throws unless <paramref name="endPoint"/> is in 127.0.0.0/8.</summary>
    /// <exception cref="ArgumentException">Not a loopback address; the message names it and the rule.</exception>
    public static void Ensure(IPEndPoint endPoint, string role)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Ensure(endPoint.Address, role, endPoint.ToString());
    }

    /// <summary>Throws unless <paramref name="address"/> is in 127.0.0.0/8.</summary>
    /// <exception cref="ArgumentException">Not a loopback address; the message names it and the rule.</exception>
    public static void Ensure(IPAddress address, string role, string? shown = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!IsLoopback(address))
        {
            throw new ArgumentException(
                $"Refusing {role} {shown ?? address.ToString()}: the SIP stack talks to loopback addresses (127.0.0.0/8) only, the network rule of this project. Use a 127.x.y.z address.",
                nameof(address));
        }
    }
}
