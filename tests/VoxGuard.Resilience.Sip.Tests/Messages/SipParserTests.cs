using System.Text;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Tests.Messages;

public class SipParserTests
{
    private const string Invite =
        "INVITE sip:engine@127.0.141.1:5060 SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP 127.0.142.1:5070;branch=z9hG4bKabc;rport\r\n" +
        "Max-Forwards: 70\r\n" +
        "From: \"Caller\" <sip:caller@127.0.142.1:5070>;tag=f1\r\n" +
        "To: <sip:engine@127.0.141.1:5060>\r\n" +
        "Call-ID: call-1@127.0.142.1\r\n" +
        "CSeq: 1 INVITE\r\n" +
        "Contact: <sip:caller@127.0.142.1:5070>\r\n" +
        "Content-Type: application/sdp\r\n" +
        "Content-Length: 4\r\n" +
        "\r\n" +
        "v=0\n";

    [Test]
    public void A_plain_invite_parses_with_its_headers_in_order_and_its_body()
    {
        var request = (SipRequest)SipParser.Parse(Invite);

        Assert.That(request.Method, Is.EqualTo("INVITE"));
        Assert.That(request.RequestUri, Is.EqualTo("sip:engine@127.0.141.1:5060"));
        Assert.That(request.Headers.Select(header => header.Name), Is.EqualTo(new[]
            { "Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Type", "Content-Length" }));
        Assert.That(request.CallId, Is.EqualTo("call-1@127.0.142.1"));
        Assert.That(request.CSeq, Is.EqualTo(new SipCSeq(1, "INVITE")));
        Assert.That(request.From!.Tag, Is.EqualTo("f1"));
        Assert.That(request.From.DisplayName, Is.EqualTo("Caller"));
        Assert.That(request.TopVia!.Branch, Is.EqualTo("z9hG4bKabc"));
        Assert.That(request.TopVia.Port, Is.EqualTo(5070));
        Assert.That(request.BodyText, Is.EqualTo("v=0\n"));
    }

    [Test]
    public void Compact_forms_and_any_case_of_names_are_normalised()
    {
        var text = "OPTIONS sip:127.0.141.1 SIP/2.0\r\n" +
                   "v: SIP/2.0/TCP 127.0.142.1:5070;branch=z9hG4bK1\r\n" +
                   "f: <sip:a@127.0.142.1>;tag=1\r\n" +
                   "t: <sip:b@127.0.141.1>\r\n" +
                   "i: compact@x\r\n" +
                   "cSeQ: 7 OPTIONS\r\n" +
                   "m: <sip:a@127.0.142.1>\r\n" +
                   "l: 0\r\n\r\n";

        var message = SipParser.Parse(text);

        Assert.That(message.Headers.Select(header => header.Name), Is.EqualTo(new[] { "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Length" }));
        Assert.That(message.CallId, Is.EqualTo("compact@x"));
        Assert.That(message.Headers.Get("call-id"), Is.EqualTo("compact@x"));
        Assert.That(message.Headers.Get("i"), Is.EqualTo("compact@x"));
        Assert.That(message.CSeq.Number, Is.EqualTo(7));
    }

    [Test]
    public void Folded_header_lines_are_joined_with_one_space()
    {
        var text = Invite.Replace("Subject", "x", StringComparison.Ordinal)
            .Replace("Max-Forwards: 70\r\n", "Subject: first\r\n  second\r\n\tthird\r\nMax-Forwards: 70\r\n", StringComparison.Ordinal)
            .Replace("To: <sip:engine@127.0.141.1:5060>", "To:\r\n <sip:engine@127.0.141.1:5060>", StringComparison.Ordinal);

        var message = SipParser.Parse(text);

        Assert.That(message.Headers.Get("Subject"), Is.EqualTo("first second third"));
        Assert.That(message.To!.Uri, Is.EqualTo("sip:engine@127.0.141.1:5060"));
    }

    [Test]
    public void Several_via_entries_comma_separated_and_repeated_keep_their_order()
    {
        var text = Invite.Replace("Via: SIP/2.0/UDP 127.0.142.1:5070;branch=z9hG4bKabc;rport\r\n",
            "Via: SIP/2.0/UDP 127.0.1.1;branch=z9hG4bKproxy1, SIP / 2.0 / TCP  127.0.0.10:5060 ;branch=z9hG4bKlb\r\n" +
            "v: SIP/2.0/UDP 127.0.142.1:5070;branch=z9hG4bKabc\r\n", StringComparison.Ordinal);

        var message = SipParser.Parse(text);

        Assert.That(message.Vias.Select(via => via.Branch), Is.EqualTo(new[] { "z9hG4bKproxy1", "z9hG4bKlb", "z9hG4bKabc" }));
        Assert.That(message.Vias[1].Transport, Is.EqualTo("TCP"));
        Assert.That(message.Vias[1].Port, Is.EqualTo(5060));
        Assert.That(message.Vias[0].Port, Is.Null);
        Assert.That(message.Headers.CountOf("Via"), Is.EqualTo(2));
    }

    [Test]
    public void Unusual_whitespace_around_colons_and_values_is_accepted()
    {
        var text = Invite.Replace("CSeq: 1 INVITE", "CSeq   :    1     INVITE   ", StringComparison.Ordinal)
            .Replace("Call-ID: call-1@127.0.142.1", "Call-ID:call-1@127.0.142.1", StringComparison.Ordinal);

        var message = SipParser.Parse(text);

        Assert.That(message.CSeq, Is.EqualTo(new SipCSeq(1, "INVITE")));
        Assert.That(message.CallId, Is.EqualTo("call-1@127.0.142.1"));
    }

    [Test]
    public void A_datagram_without_content_length_takes_the_rest_as_body_and_extra_bytes_beyond_it_are_dropped()
    {
        var without = Invite.Replace("Content-Length: 4\r\n", string.Empty, StringComparison.Ordinal) + "a=x\n";
        Assert.That(SipParser.Parse(without).BodyText, Is.EqualTo("v=0\na=x\n"));

        var longer = Invite + "trailing garbage";
        Assert.That(SipParser.Parse(longer).BodyText, Is.EqualTo("v=0\n"));
    }

    [Test]
    public void A_response_parses_with_a_reason_phrase_of_several_words()
    {
        var text = "SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/UDP 127.0.142.1:5070;branch=z9hG4bK1\r\n" +
                   "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";

        var response = (SipResponse)SipParser.Parse(text);

        Assert.That(response.StatusCode, Is.EqualTo(481));
        Assert.That(response.ReasonPhrase, Is.EqualTo("Call/Transaction Does Not Exist"));
        Assert.That(response.To!.Tag, Is.EqualTo("2"));
    }

    [Test]
    public void Serialising_and_parsing_again_gives_the_same_message()
    {
        var original = SipParser.Parse(Invite);
        var again = SipParser.Parse(original.ToBytes());

        Assert.That(again.Headers.Select(header => header.ToString()), Is.EqualTo(original.Headers.Select(header => header.ToString())));
        Assert.That(again.BodyText, Is.EqualTo(original.BodyText));
    }

    [Test]
    public void A_stream_parser_frames_by_content_length_skips_keepalives_and_waits_for_the_rest()
    {
        var one = Encoding.UTF8.GetBytes(Invite);
        var stream = new byte[4 + one.Length * 2];
        "\r\n\r\n"u8.CopyTo(stream);
        one.CopyTo(stream, 4);
        one.CopyTo(stream, 4 + one.Length);

        Assert.That(SipParser.TryParseStream(stream.AsSpan(0, 4), out _, out var keepalive), Is.False);
        Assert.That(keepalive, Is.EqualTo(4));
        Assert.That(SipParser.TryParseStream(stream.AsSpan(0, 4 + one.Length - 1), out _, out var partial), Is.False, "one byte of body missing");
        Assert.That(partial, Is.EqualTo(4));
        Assert.That(SipParser.TryParseStream(stream, out var first, out var consumed), Is.True);
        Assert.That(consumed, Is.EqualTo(4 + one.Length));
        Assert.That(first!.BodyText, Is.EqualTo("v=0\n"));
        Assert.That(SipParser.TryParseStream(stream.AsSpan(consumed), out var second, out var rest), Is.True);
        Assert.That(rest, Is.EqualTo(one.Length));
        Assert.That(second!.CallId, Is.EqualTo("call-1@127.0.142.1"));
    }

    [Test]
    public void A_stream_message_without_content_length_is_400()
    {
        var text = Encoding.UTF8.GetBytes(Invite.Replace("Content-Length: 4\r\n", string.Empty, StringComparison.Ordinal));
        var error = Assert.Throws<SipParseException>(() => SipParser.TryParseStream(text, out _, out _));
        Assert.That(error!.StatusCode, Is.EqualTo(400));
        Assert.That(error.Reason, Does.Contain("Content-Length is required"));
    }

    private static IEnumerable<TestCaseData> Malformed()
    {
        TestCaseData Case(string name, string text, int code, string reason) => new TestCaseData(text, code, reason).SetName("Malformed: " + name);

        yield return Case("missing Call-ID", Invite.Replace("Call-ID: call-1@127.0.142.1\r\n", string.Empty, StringComparison.Ordinal), 400, "missing Call-ID header");
        yield return Case("missing CSeq", Invite.Replace("CSeq: 1 INVITE\r\n", string.Empty, StringComparison.Ordinal), 400, "missing CSeq header");
        yield return Case("missing Via", Invite.Replace("Via: SIP/2.0/UDP 127.0.142.1:5070;branch=z9hG4bKabc;rport\r\n", string.Empty, StringComparison.Ordinal), 400, "missing Via header");
        yield return Case("missing From", Invite.Replace("From: \"Caller\" <sip:caller@127.0.142.1:5070>;tag=f1\r\n", string.Empty, StringComparison.Ordinal), 400, "missing From header");
        yield return Case("negative Content-Length", Invite.Replace("Content-Length: 4", "Content-Length: -4", StringComparison.Ordinal), 400, "Content-Length '-4' is not a non-negative number");
        yield return Case("non-numeric Content-Length", Invite.Replace("Content-Length: 4", "Content-Length: four", StringComparison.Ordinal), 400, "Content-Length 'four' is not a non-negative number");
        yield return Case("huge Content-Length", Invite.Replace("Content-Length: 4", "Content-Length: 99999999999999999999", StringComparison.Ordinal), 400, "is not a non-negative number");
        yield return Case("Content-Length larger than body", Invite.Replace("Content-Length: 4", "Content-Length: 500", StringComparison.Ordinal), 400, "Content-Length 500 exceeds the 4 bytes of body received");
        yield return Case("conflicting Content-Length", Invite.Replace("Content-Length: 4\r\n", "Content-Length: 4\r\nl: 3\r\n", StringComparison.Ordinal), 400, "conflicting Content-Length headers (4 and 3)");
        yield return Case("unknown version in request", Invite.Replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia", StringComparison.Ordinal), 505, "version 'SIP/7.0' is not supported");
        yield return Case("garbage version", Invite.Replace("SIP/2.0\r\nVia", "HTTP/1.1\r\nVia", StringComparison.Ordinal), 400, "malformed version 'HTTP/1.1'");
        yield return Case("request line with extra spaces", Invite.Replace("INVITE sip:engine", "INVITE  sip:engine", StringComparison.Ordinal), 400, "malformed request line");
        yield return Case("request line with two fields", "INVITE SIP/2.0\r\nVia: x\r\n\r\n", 400, "malformed request line");
        yield return Case("URI scheme not sip", Invite.Replace("INVITE sip:engine@127.0.141.1:5060", "INVITE mailto:engine@127.0.141.1", StringComparison.Ordinal), 416, "Request-URI scheme 'mailto' is not sip, sips or tel");
        yield return Case("method not a token", Invite.Replace("INVITE sip:", "IN(VITE sip:", StringComparison.Ordinal), 400, "method 'IN(VITE' is not a token");
        yield return Case("CSeq method mismatch", Invite.Replace("CSeq: 1 INVITE", "CSeq: 1 BYE", StringComparison.Ordinal), 400, "CSeq method BYE does not match the request method INVITE");
        yield return Case("CSeq number too large", Invite.Replace("CSeq: 1 INVITE", "CSeq: 4294967296 INVITE", StringComparison.Ordinal), 400, "malformed CSeq");
        yield return Case("two Call-IDs", Invite.Replace("CSeq: 1 INVITE\r\n", "CSeq: 1 INVITE\r\ni: other\r\n", StringComparison.Ordinal), 400, "more than one Call-ID header");
        yield return Case("malformed Via", Invite.Replace("Via: SIP/2.0/UDP 127.0.142.1:5070", "Via: SIP/2.0 127.0.142.1:5070", StringComparison.Ordinal), 400, "malformed Via");
        yield return Case("Via port out of range", Invite.Replace("127.0.142.1:5070;branch", "127.0.142.1:70000;branch", StringComparison.Ordinal), 400, "malformed Via");
        yield return Case("malformed To", Invite.Replace("To: <sip:engine@127.0.141.1:5060>", "To: <sip:engine@127.0.141.1:5060", StringComparison.Ordinal), 400, "malformed To header");
        yield return Case("header without colon", Invite.Replace("Max-Forwards: 70", "Max-Forwards 70", StringComparison.Ordinal), 400, "header line without a colon");
        yield return Case("header name with space", Invite.Replace("Max-Forwards: 70", "Max Forwards: 70", StringComparison.Ordinal), 400, "header name 'Max Forwards' is not a token");
        yield return Case("continuation first", Invite.Replace("\r\nVia:", "\r\n Via:", StringComparison.Ordinal), 400, "continuation line before the first header");
        yield return Case("NUL in header", Invite.Replace("call-1@", "call\0-1@", StringComparison.Ordinal), 400, "control character 0x00");
        yield return Case("no empty line", "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n", 400, "header section not ended by an empty line");
        yield return Case("status code not a number", "SIP/2.0 2OO OK\r\n\r\n", 400, "status code '2OO' is not a number from 100 to 699");
        yield return Case("status code out of range", "SIP/2.0 999 Odd\r\n\r\n", 400, "status code '999'");
        yield return Case("response version unknown", "SIP/3.0 200 OK\r\n\r\n", 505, "version 'SIP/3.0' is not supported");
        yield return Case("only line breaks", "\r\n\r\n\r\n", 400, "empty message");
    }

    [TestCaseSource(nameof(Malformed))]
    public void Malformed_messages_are_rejected_with_the_response_code_and_reason(string text, int code, string reason)
    {
        var error = Assert.Throws<SipParseException>(() => SipParser.Parse(text));
        Assert.That(error!.StatusCode, Is.EqualTo(code), error.Message);
        Assert.That(error.Reason, Does.Contain(reason));
    }

    [Test]
    public void An_oversized_message_is_513()
    {
        var big = Invite.Replace("v=0\n", new string('x', 70_000), StringComparison.Ordinal).Replace("Content-Length: 4", "Content-Length: 70000", StringComparison.Ordinal);
        var error = Assert.Throws<SipParseException>(() => SipParser.Parse(big));
        Assert.That(error!.StatusCode, Is.EqualTo(513));
        Assert.That(error.Reason, Does.Contain("exceeds the limit of 65535"));
    }

    [Test]
    public void Too_many_headers_and_too_long_lines_are_513()
    {
        var many = Invite.Replace("Max-Forwards: 70\r\n", string.Concat(Enumerable.Repeat("X-Filler: 1\r\n", 300)), StringComparison.Ordinal);
        var error = Assert.Throws<SipParseException>(() => SipParser.Parse(many));
        Assert.That(error!.StatusCode, Is.EqualTo(513));
        Assert.That(error.Reason, Does.Contain("more than 256 header lines"));

        var longLine = Invite.Replace("Max-Forwards: 70", "X-Long: " + new string('y', 9000), StringComparison.Ordinal);
        error = Assert.Throws<SipParseException>(() => SipParser.Parse(longLine));
        Assert.That(error!.StatusCode, Is.EqualTo(513));
        Assert.That(error.Reason, Does.Contain("exceeds the limit of 8192"));

        var folded = Invite.Replace("Max-Forwards: 70", "X-Long: a" + string.Concat(Enumerable.Repeat("\r\n " + new string('z', 1000), 9)), StringComparison.Ordinal);
        error = Assert.Throws<SipParseException>(() => SipParser.Parse(folded));
        Assert.That(error!.StatusCode, Is.EqualTo(513));
    }

    [Test]
    public void A_stream_whose_headers_never_end_is_513_once_past_the_limit()
    {
        var endless = Encoding.UTF8.GetBytes("OPTIONS sip:a@b SIP/2.0\r\n" + string.Concat(Enumerable.Repeat("X-Filler: 1\r\n", 6000)));
        var error = Assert.Throws<SipParseException>(() => SipParser.TryParseStream(endless, out _, out _));
        Assert.That(error!.StatusCode, Is.EqualTo(513));
    }

    [Test]
    public void A_parse_error_after_the_start_line_keeps_the_headers_so_the_request_can_be_answered()
    {
        var error = Assert.Throws<SipParseException>(() => SipParser.Parse(Invite.Replace("CSeq: 1 INVITE", "CSeq: 1 BYE", StringComparison.Ordinal)));
        Assert.That(error!.WasRequest, Is.True);
        var response = SipMessageFactory.CreateResponse(error.Headers!, error.StatusCode, toTag: "t");
        Assert.That(response!.StatusCode, Is.EqualTo(400));
        Assert.That(response.CallId, Is.EqualTo("call-1@127.0.142.1"));
        Assert.That(response.To!.Tag, Is.EqualTo("t"));
    }

    [Test]
    public void Random_garbage_never_throws_anything_but_a_parse_error()
    {
        var random = new Random(4475);
        var valid = Encoding.UTF8.GetBytes(Invite);
        var unexpected = new List<string>();
        for (var i = 0; i < 5000; i++)
        {
            byte[] data;
            if (i % 2 == 0)
            {
                data = new byte[random.Next(0, 600)];
                random.NextBytes(data);
            }
            else
            {
                data = (byte[])valid.Clone();
                for (var flips = random.Next(1, 8); flips > 0; flips--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }
            }

            try
            {
                SipParser.Parse(data);
                SipParser.TryParseStream(data, out _, out _);
            }
            catch (SipParseException)
            {
            }
#pragma warning disable CA1031
            catch (Exception exception)
#pragma warning restore CA1031
            {
                unexpected.Add($"{i}: {exception.GetType().Name}: {exception.Message}");
            }
        }

        Assert.That(unexpected, Is.Empty);
    }

    [Test]
    public void A_response_to_an_invite_copies_via_lines_in_order_and_record_route_and_adds_the_to_tag()
    {
        var request = (SipRequest)SipParser.Parse(Invite.Replace("Max-Forwards: 70\r\n",
            "Record-Route: <sip:127.0.1.1;lr>\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKsecond\r\nMax-Forwards: 70\r\n", StringComparison.Ordinal));

        var ok = SipMessageFactory.CreateResponse(request, 200, toTag: "uas1");
        var trying = SipMessageFactory.CreateResponse(request, 100, toTag: "uas1");

        Assert.That(ok.Vias.Select(via => via.Branch), Is.EqualTo(new[] { "z9hG4bKabc", "z9hG4bKsecond" }));
        Assert.That(ok.Headers.Get("Record-Route"), Is.EqualTo("<sip:127.0.1.1;lr>"));
        Assert.That(ok.To!.Tag, Is.EqualTo("uas1"));
        Assert.That(trying.To!.Tag, Is.Null);
        Assert.That(trying.Headers.Contains("Record-Route"), Is.False);
    }

    // The parser checks From and To without building them (SipNameAddress.IsWellFormed); it must accept exactly what
    // TryParse accepts, or a message would pass the check and have no From, or fail it and be wrongly refused.
    [TestCase("<sip:bob@host>;tag=x", true)]
    [TestCase("\"Bob, the <first>\" <sip:bob@host> ;tag=x", true)]
    [TestCase("Bob <sip:bob@host>", true)]
    [TestCase("sip:bob@host;tag=x", true)]
    [TestCase("  sip:bob@host  ", true)]
    [TestCase("<sip:bob@host", false)]
    [TestCase("<bob@host>", false)]
    [TestCase("<:bob@host>", false)]
    [TestCase("<sip:bob@host> tag=x", false)]
    [TestCase("<>", false)]
    [TestCase("sip:bob@host extra", false)]
    [TestCase("bob", false)]
    [TestCase("\"sip:bob@host\"", false)]
    [TestCase("", false)]
    [TestCase("   ", false)]
    [TestCase(null, false)]
    public void The_allocation_free_from_and_to_check_accepts_what_parsing_accepts(string? text, bool wellFormed)
    {
        Assert.Multiple(() =>
        {
            Assert.That(SipNameAddress.TryParse(text, out _), Is.EqualTo(wellFormed));
            Assert.That(SipNameAddress.IsWellFormed(text), Is.EqualTo(wellFormed));
        });
    }
}
