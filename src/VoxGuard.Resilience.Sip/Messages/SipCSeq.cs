using System.Globalization;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>The CSeq header: a sequence number below 2^31 and a method.</summary>
public readonly record struct SipCSeq(long Number, string Method)
{
    /// <summary>Parses <c>4711 INVITE</c>; false when malformed.</summary>
    public static bool TryParse(string? text, out SipCSeq cseq)
    {
        cseq = default;
        if (text is null)
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var space = span.IndexOfAny(' ', '\t');
        if (space <= 0)
        {
            return false;
        }

        var method = span[(space + 1)..].Trim();
        if (!long.TryParse(span[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > int.MaxValue
            || method.IsEmpty || !SipParser.IsToken(method))
        {
            return false;
        }

        cseq = new SipCSeq(number, method.ToString());
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Number} {Method}");
}
