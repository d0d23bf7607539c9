using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Contracts;

/// <summary>
/// The project's network rule, in one place: the harness binds and sends only to loopback (127.0.0.0/8), or to networks
/// it made itself — a containers environment's region networks, declared here by whoever created them
/// (<see cref="DeclareOwn"/>) and handed to the harness's own child processes (engines) in
/// <see cref="OwnNetworksVariable"/>. Nothing else is ever a target.
/// </summary>
public static class NetworkRule
{
    /// <summary>The variable a child process inherits its parent's own networks in: "10.231.1.0/24,10.231.2.0/24".</summary>
    public const string OwnNetworksVariable = "VOXGUARD_OWN_NETWORKS";

    private static readonly Lock Gate = new();
    private static readonly List<IPNetwork> Declared = [];
    private static IPNetwork[] _own = Inherited();

    /// <summary>The networks other than loopback this process may use: declared here, or inherited from its parent.</summary>
    public static IReadOnlyList<IPNetwork> OwnNetworks => _own;

    /// <summary>True for 127.0.0.0/8 (IPv4-mapped too), and for an address inside one of <see cref="OwnNetworks"/>.</summary>
    public static bool Admits(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        if (address.GetAddressBytes()[0] == 127)
        {
            return true;
        }

        // Read once: declarations replace the array, never change it.
        var own = _own;
        foreach (var network in own)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>How the rule reads in a refusal: "loopback (127.0.0.0/8)", plus the own networks when there are any.</summary>
    public static string Describe()
    {
        var own = _own;
        return own.Length == 0
            ? "loopback addresses (127.0.0.0/8) only"
            : $"loopback addresses (127.0.0.0/8) and the networks the harness made ({string.Join(", ", own)}) only";
    }

    /// <summary>
    /// Declares a network this process created (a region's container network) as a target; disposing the result takes
    /// it back. Only for networks the harness made itself and removes again.
    /// </summary>
    public static IDisposable DeclareOwn(IPNetwork network)
    {
        if (network.BaseAddress.AddressFamily != AddressFamily.InterNetwork || IPAddress.IsLoopback(network.BaseAddress))
        {
            throw new ArgumentException($"{network} is not an IPv4 network of the harness's own (loopback needs no declaring).", nameof(network));
        }

        lock (Gate)
        {
            Declared.Add(network);
            Publish();
        }

        return new Declaration(network);
    }

    /// <summary>The value of <see cref="OwnNetworksVariable"/> for a child process, or null when there is none to pass.</summary>
    public static string? ForChildProcess()
    {
        var own = _own;
        return own.Length == 0 ? null : string.Join(',', own);
    }

    private static void Publish() => _own = [.. Inherited().Concat(Declared).Distinct()];

    private static IPNetwork[] Inherited()
    {
        var text = Environment.GetEnvironmentVariable(OwnNetworksVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        // A malformed entry admits nothing: the rule only ever narrows on bad input.
        return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(entry => IPNetwork.TryParse(entry, out var network) ? network : (IPNetwork?)null)
            .Where(network => network is { } parsed && parsed.BaseAddress.AddressFamily == AddressFamily.InterNetwork && parsed.PrefixLength >= 8)
            .Select(network => network!.Value)];
    }

    private sealed class Declaration(IPNetwork network) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            lock (Gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                Declared.Remove(network);
                Publish();
            }
        }
    }
}
