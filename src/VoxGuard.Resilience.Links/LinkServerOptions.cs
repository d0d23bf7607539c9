using System.Net;

namespace VoxGuard.Resilience.Links;

/// <summary>How a <see cref="LinkServer"/> runs.</summary>
public sealed class LinkServerOptions
{
    /// <summary>Toxiproxy's own default API port, on loopback.</summary>
    public const int DefaultApiPort = 8474;

    /// <summary>Where the HTTP API listens. Default 127.0.0.1:8474; port 0 picks a free port.</summary>
    public IPEndPoint ApiEndpoint { get; init; } = new(IPAddress.Loopback, DefaultApiPort);

    /// <summary>
    /// Lets the API listen on a network address. Default false: loopback only. For a link server inside a container
    /// whose API port is published on the host's loopback: port forwarding delivers to the container's own address.
    /// </summary>
    public bool ApiOnContainerNetwork { get; init; }

    /// <summary>Seeds the toxicity draws so a chaos run can be repeated exactly; null draws freshly.</summary>
    public int? RandomSeed { get; init; }

    /// <summary>
    /// The address a TCP link's connections to its upstream leave from, asked per upstream; null (the default, or a
    /// null answer): the kernel's choice. The containers environment gives the links into each region an address of
    /// their own, so that a packet filter inside the region tells link traffic from the harness's and the balancer's.
    /// </summary>
    public Func<IPEndPoint, IPAddress?>? UpstreamSource { get; init; }

    /// <summary>Checks the options; every problem is named in one message.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (ApiEndpoint is null)
        {
            problems.Add("ApiEndpoint is required");
        }
        else if (!IPAddress.IsLoopback(ApiEndpoint.Address) && !ApiOnContainerNetwork)
        {
            // The harness only ever drives links on this machine; an open API would let anyone cut them.
            problems.Add($"ApiEndpoint {ApiEndpoint} is not a loopback address; use 127.0.0.0/8 or [::1]");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid link server options: {string.Join("; ", problems)}.");
        }
    }
}
