using System.Net;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>What the containers fixtures share: the topology with ACM engines and region containers, and paced calls.</summary>
internal static class ContainersTestTopology
{
    /// <summary>The whole topology of <paramref name="environment"/>, each region a container built from this checkout's images.</summary>
    public static Task<LocalTopology> StartAsync(EnvironmentDefinition environment) =>
        LocalTopology.StartAsync(environment, new LocalTopologyOptions
        {
            Engines = EngineLauncher.Instance,
            RegionHosts = new ContainerRegionHosts(LocalEnvironmentInBlocks.RepositoryRoot),
        });

    /// <summary><paramref name="count"/> calls to <paramref name="target"/> at 20 per second; every one awaited (60 s at most).</summary>
    public static async Task<IReadOnlyList<CallRecord>> CallsAsync(SipUserAgentClient uac, IPEndPoint target, int count, CallOptions options)
    {
        var calls = new List<Task<CallRecord>>();
        for (var i = 0; i < count; i++)
        {
            calls.Add(uac.CallAsync(target, options));
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
