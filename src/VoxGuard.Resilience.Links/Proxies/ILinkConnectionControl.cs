namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>What a toxic may do to the whole connection it acts on.</summary>
internal interface ILinkConnectionControl
{
    /// <summary>Closes both ends with a normal FIN.</summary>
    void Close();

    /// <summary>Aborts both ends with a TCP RST (SO_LINGER 0).</summary>
    void Reset();
}
