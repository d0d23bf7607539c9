namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>
/// One proxy's switch that stops every connection through it delivering bytes, shared by all of them: setting it is one
/// write, no lock and no callback, so a region's many links can all stop in the same instant however busy the host is.
/// The connections are closed afterwards (<see cref="ProxyRuntime.StopAsync"/>); a proxy started again gets a new switch.
/// </summary>
internal sealed class LinkSilence
{
    private volatile bool _set;

    public bool IsSet => _set;

    public void Set() => _set = true;
}
