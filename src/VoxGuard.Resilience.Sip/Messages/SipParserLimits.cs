namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>What the parser accepts before it answers 513 Message Too Large. Defaults suit any real SIP message.</summary>
public sealed record SipParserLimits
{
    /// <summary>The default limits.</summary>
    public static SipParserLimits Default { get; } = new();

    /// <summary>Largest whole message, headers and body (default 65,535 bytes: a UDP datagram's maximum).</summary>
    public int MaxMessageSize { get; init; } = 65_535;

    /// <summary>Most header lines (folded lines count once; default 256).</summary>
    public int MaxHeaderCount { get; init; } = 256;

    /// <summary>Longest line of the start line or a header, folding included (default 8,192 characters).</summary>
    public int MaxLineLength { get; init; } = 8_192;
}
