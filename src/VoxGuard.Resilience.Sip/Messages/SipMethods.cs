namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>The methods this stack handles.</summary>
public static class SipMethods
{
    public const string Invite = "INVITE";
    public const string Ack = "ACK";
    public const string Bye = "BYE";
    public const string Cancel = "CANCEL";
    public const string Options = "OPTIONS";
}
