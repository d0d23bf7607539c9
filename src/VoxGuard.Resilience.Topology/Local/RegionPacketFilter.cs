using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>The transport a <see cref="PacketLoss"/> applies to.</summary>
public enum PacketProtocol
{
    /// <summary>Every packet (with a port: TCP and UDP).</summary>
    Any,

    /// <summary>UDP only (SIP over UDP, the dispatcher's health checks).</summary>
    Udp,

    /// <summary>TCP only.</summary>
    Tcp,
}

/// <summary>
/// Random loss on a region's network: each packet the region sends or receives (through its network's interface, not
/// between its own servers) is dropped with <paramref name="Probability"/>, for <paramref name="Protocol"/> and, with a
/// port, only packets to or from that port (e.g. UDP 5060: the SIP proxy's requests and replies both ways).
/// </summary>
public sealed record PacketLoss(double Probability, PacketProtocol Protocol = PacketProtocol.Any, int? Port = null)
{
    /// <summary>The problems with this loss, each on its own; empty when it can be applied.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!(Probability > 0 && Probability <= 1))
        {
            problems.Add($"probability {Probability.ToString(CultureInfo.InvariantCulture)} must be above 0 and at most 1 (0.3 drops 30 % of packets)");
        }

        if (Port is { } port && port is < 1 or > 65535)
        {
            problems.Add($"port {port} must be from 1 to 65535");
        }

        return problems;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Probability * 100:0.#} % of {(Protocol == PacketProtocol.Any ? "all" : Protocol.ToString().ToUpperInvariant())} packets{(Port is { } port ? $" to or from port {port}" : string.Empty)}");
}

/// <summary>
/// Faults made by packet-filter rules inside a region's own network namespace (<c>hosts: containers</c>): isolation
/// (every packet between the region and the link server's addresses dropped, see
/// <see cref="InterRegionLinkPlan.InterRegionAddressesOf"/>; the balancer and the harness, which reach the region from its
/// network's first address, still do) and random loss. What the kernel does, not the link server: a dropped packet is
/// silently gone, TCP retransmits, SIP over UDP retransmits by its timers, and no connection is closed by anyone.
/// </summary>
/// <remarks>
/// The rules live in two chains of the harness's own, <c>VOXGUARD-IN</c> (jumped to from INPUT) and
/// <c>VOXGUARD-OUT</c> (from OUTPUT), both skipping the loopback interface, so the region's servers still reach one
/// another and clearing removes nothing but ours. Every change rewrites both chains whole with one
/// <c>iptables-restore --noflush</c>, then reads them back: an operation returns once the kernel holds what it promised.
/// The namespace dies with the region's container, rules included.
/// </remarks>
public sealed class RegionPacketFilter
{
    /// <summary>The chain of inbound rules.</summary>
    public const string InboundChain = "VOXGUARD-IN";

    /// <summary>The chain of outbound rules.</summary>
    public const string OutboundChain = "VOXGUARD-OUT";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly RunDirectory _run;
    private readonly string _networkNamespace;
    private readonly IReadOnlyList<IPAddress> _interRegionAddresses;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly List<PacketLoss> _losses = [];
    private bool _isolated;
    private bool _chainsJumpedTo;

    private RegionPacketFilter(RunDirectory run, string region, string networkNamespace, IReadOnlyList<IPAddress> interRegionAddresses)
    {
        _run = run;
        Region = region;
        _networkNamespace = networkNamespace;
        _interRegionAddresses = interRegionAddresses;
    }

    /// <summary>The region whose namespace the rules are in.</summary>
    public string Region { get; }

    /// <summary>True while the region is isolated by its filter.</summary>
    public bool IsIsolated => _isolated;

    /// <summary>The random losses in force, in the order they were added.</summary>
    public IReadOnlyList<PacketLoss> Losses => _losses;

    /// <summary>True when the filter holds no rule.</summary>
    public bool IsClear => !_isolated && _losses.Count == 0;

    /// <summary>
    /// The filter of <paramref name="region"/>, whose servers <paramref name="run"/> places in a network namespace of the
    /// region's own; on loopback there is none, and this says so and what to use instead.
    /// </summary>
    /// <exception cref="InvalidOperationException">The region has no network namespace of its own.</exception>
    public static RegionPacketFilter For(EnvironmentDefinition environment, RunDirectory run, string region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var definition = environment.Region(region);
        var networkNamespace = run.NetworkNamespaceOf(definition.Name)
            ?? throw new InvalidOperationException(
                $"{definition.Name} has no network namespace of its own in environment {environment.Name} (hosts: loopback): packet-filter faults need " +
                "hosts: containers (--env containers). On loopback, isolate with the links (--mode cut or blackhole) and shape a link for loss.");
        return new RegionPacketFilter(run, definition.Name, networkNamespace, InterRegionLinkPlan.InterRegionAddressesOf(environment, definition));
    }

    /// <summary>Drops every packet between the region and the other regions; verified when the kernel holds the rules.</summary>
    public Task<TopologyOperation> IsolateAsync(CancellationToken cancellationToken = default) =>
        ChangeAsync(() => _isolated = true, $"isolate {Region} by its packet filter: every packet to or from {string.Join(", ", _interRegionAddresses)} dropped", cancellationToken);

    /// <summary>Adds random loss; verified when the kernel holds the rules.</summary>
    /// <exception cref="ArgumentException">The loss cannot be applied (every problem named).</exception>
    public Task<TopologyOperation> DropAsync(PacketLoss loss, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"Invalid packet loss: {string.Join("; ", problems)}.", nameof(loss));
        }

        return ChangeAsync(() => _losses.Add(loss), $"drop {loss} of {Region}, both ways", cancellationToken);
    }

    /// <summary>Removes every rule of ours (isolation and loss); verified when both chains are empty.</summary>
    public Task<TopologyOperation> ClearAsync(CancellationToken cancellationToken = default) =>
        ChangeAsync(() =>
        {
            _isolated = false;
            _losses.Clear();
        }, $"clear {Region}'s packet filter", cancellationToken);

    /// <summary>The rules the kernel holds in our chains now, as iptables-save prints them.</summary>
    public async Task<IReadOnlyList<string>> RulesAsync(CancellationToken cancellationToken = default)
    {
        var saved = await IptablesAsync("iptables-save", ["-t", "filter"], cancellationToken).ConfigureAwait(false);
        return [.. saved.Output.Where(line => line.StartsWith($"-A {InboundChain} ", StringComparison.Ordinal) || line.StartsWith($"-A {OutboundChain} ", StringComparison.Ordinal))];
    }

    /// <summary>The rule set for an isolation from <paramref name="addresses"/> and <paramref name="losses"/>: iptables-restore input.</summary>
    internal static string RestoreScript(IReadOnlyList<IPAddress> addresses, bool isolated, IReadOnlyList<PacketLoss> losses)
    {
        var script = new System.Text.StringBuilder();
        script.AppendLine("*filter");
        // With --noflush, declaring a chain of our own empties it: both are rewritten whole on every change.
        script.AppendLine(CultureInfo.InvariantCulture, $":{InboundChain} - [0:0]");
        script.AppendLine(CultureInfo.InvariantCulture, $":{OutboundChain} - [0:0]");
        foreach (var rule in Rules(addresses, isolated, losses))
        {
            script.AppendLine(rule);
        }

        script.AppendLine("COMMIT");
        return script.ToString();
    }

    /// <summary>Every rule (iptables-restore lines) of an isolation from <paramref name="addresses"/> and of <paramref name="losses"/>.</summary>
    internal static IReadOnlyList<string> Rules(IReadOnlyList<IPAddress> addresses, bool isolated, IReadOnlyList<PacketLoss> losses)
    {
        var rules = new List<string>();
        if (isolated)
        {
            foreach (var address in addresses)
            {
                rules.Add($"-A {InboundChain} -s {address}/32 -j DROP");
                rules.Add($"-A {OutboundChain} -d {address}/32 -j DROP");
            }
        }

        foreach (var loss in losses)
        {
            var probability = loss.Probability.ToString("0.######", CultureInfo.InvariantCulture);
            var protocols = loss.Protocol switch
            {
                PacketProtocol.Udp => ["udp"],
                PacketProtocol.Tcp => ["tcp"],
                _ => loss.Port is null ? new[] { string.Empty } : ["udp", "tcp"],
            };
            foreach (var chain in new[] { InboundChain, OutboundChain })
            {
                foreach (var protocol in protocols)
                {
                    var match = protocol.Length == 0 ? string.Empty : $" -p {protocol}";
                    // A port matches either end: the requests to it and the replies from it, each packet once.
                    var ports = loss.Port is { } port ? new[] { $" --dport {port}", $" --sport {port}" } : [string.Empty];
                    rules.AddRange(ports.Select(ends => $"-A {chain}{match}{ends} -m statistic --mode random --probability {probability} -j DROP"));
                }
            }
        }

        return rules;
    }

    private async Task<TopologyOperation> ChangeAsync(Action change, string what, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        var wasIsolated = _isolated;
        var hadLosses = _losses.ToList();
        try
        {
            var started = Stopwatch.GetTimestamp();
            change();
            await EnsureChainsJumpedToAsync(cancellationToken).ConfigureAwait(false);
            var script = _run.PathOf($"{Region}-packet-filter.rules");
            await File.WriteAllTextAsync(script, RestoreScript(_interRegionAddresses, _isolated, _losses), cancellationToken).ConfigureAwait(false);
            await IptablesAsync("iptables-restore", ["-w", "5", "--noflush", script], cancellationToken).ConfigureAwait(false);
            var expected = Rules(_interRegionAddresses, _isolated, _losses).Count;
            var held = (await RulesAsync(cancellationToken).ConfigureAwait(false)).Count;
            if (held != expected)
            {
                throw new InvalidOperationException($"{Region}'s packet filter holds {held} rules of ours after the change, not the {expected} asked for.");
            }

            return TopologyOperation.Since(what, started);
        }
        catch
        {
            // What the filter believes must stay what the kernel was last told.
            _isolated = wasIsolated;
            _losses.Clear();
            _losses.AddRange(hadLosses);
            throw;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Creates our chains and the jumps to them once (skipping loopback: the region's servers among themselves).</summary>
    private async Task EnsureChainsJumpedToAsync(CancellationToken cancellationToken)
    {
        if (_chainsJumpedTo)
        {
            return;
        }

        var script = _run.PathOf($"{Region}-packet-filter-chains.rules");
        await File.WriteAllTextAsync(script, string.Join('\n',
            "*filter",
            $":{InboundChain} - [0:0]",
            $":{OutboundChain} - [0:0]",
            $"-I INPUT 1 ! -i lo -j {InboundChain}",
            $"-I OUTPUT 1 ! -o lo -j {OutboundChain}",
            "COMMIT",
            string.Empty), cancellationToken).ConfigureAwait(false);
        await IptablesAsync("iptables-restore", ["-w", "5", "--noflush", script], cancellationToken).ConfigureAwait(false);
        _chainsJumpedTo = true;
    }

    private async Task<CommandResult> IptablesAsync(string command, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await OneShotCommand.RunAsync(_run, new ProcessSpec($"{Region}-{command}", command, "iptables")
        {
            Arguments = arguments,
            NetworkNamespace = _networkNamespace,
        }, CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} in {Region}'s network namespace failed (exit {result.ExitCode}): {result.TailText}");
        }

        return result;
    }
}
