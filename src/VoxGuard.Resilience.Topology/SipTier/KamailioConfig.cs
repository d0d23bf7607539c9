using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// Kamailio configurations generated from an environment: each region's SIP proxy (<see cref="For(EnvironmentDefinition, RunDirectory, RegionDefinition)"/>) and, for UDP
/// transport, the global balancer built on the dispatcher module (<see cref="BalancerFor"/>). Nothing region-specific is
/// written anywhere else.
/// </summary>
/// <remarks>
/// Measured settings (docs/measured-facts.md, "Kamailio: one UDP worker"): <c>children=1</c> (with two or more UDP
/// workers a 180 can overtake the 200 on the TCP leg to the caller), <c>tcp_children=2</c>, <c>corelog=3</c> (hides the
/// errors the balancer's health-check resets cause).
/// DNS is off: every address is a loopback literal and no lookup may leave the machine.
/// </remarks>
public static class KamailioConfig
{
    /// <summary>The dispatcher set holding the regions in the UDP balancer.</summary>
    public const int DispatcherSet = 1;

    /// <summary>
    /// The dispatcher algorithm: 11, relative weight (<c>rweight</c>), which re-spreads the weights over the live regions
    /// (50.2/49.8 after Lagos's loss; algorithm 9 sent all of Lagos's share to the next entry: docs/measured-facts.md,
    /// "Kamailio dispatcher: algorithm 11 and reloads").
    /// </summary>
    public const int DispatcherAlgorithm = 11;

    /// <summary>Dispatcher list flags of a destination that is inactive (1) and probed (8).</summary>
    public const int InactiveProbed = 9;

    /// <summary>
    /// The UDP receive buffer Kamailio may probe up to (its <c>maxbuffer</c>; the kernel caps it at net.core.rmem_max):
    /// 4 MB, the same as the ACM engines' (docs/measured-facts.md, "UDP receive buffers under load").
    /// </summary>
    public const int UdpReceiveBufferBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The TCP connections a region's Kamailio accepts (its default is 2048): twice the balancer's own limit, so that
    /// every connection HAProxy may open to a region fits. With the default, Lagos closed new connections once its
    /// share of calls in flight passed 2048 (at 1000 CPS when setups slowed: "closed before a final response").
    /// </summary>
    public const int TcpMaxConnections = 2 * HaproxyConfig.MaxConnections;

    /// <summary>
    /// With access links, the UDP balancer's final-response timeout for in-dialog requests (BYE): RFC 3261's Timer F,
    /// 64 × T1 = 32 s, as long as the caller's own, with tm retransmitting at 0.5, 1.5, 3.5, 7.5 s and then every 4 s.
    /// Without it they would share the pings' fr_timer; 5 s (four sends) still lost one BYE in about 40 at 30 % loss.
    /// </summary>
    public const int InDialogTimeoutMilliseconds = 32_000;

    /// <summary>
    /// A region's SIP proxy: listens on the region's SIP address over UDP and TCP, answers OPTIONS itself with 200,
    /// forwards INVITE/ACK/BYE/CANCEL statefully to the region's engine (record-routing, so in-dialog requests come back
    /// through it) and stamps every reply passed back with <see cref="SipProxyTier.RegionHeader"/>.
    /// </summary>
    public static string For(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(run);
        return For(environment, region, $"run {run.RunId}");
    }

    /// <summary>A region's SIP proxy (<see cref="For(EnvironmentDefinition, RunDirectory, RegionDefinition)"/>); <paramref name="generatedFor"/> says in the header what it was made for.</summary>
    public static string For(EnvironmentDefinition environment, RegionDefinition region, string generatedFor)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var engine = Invariant($"sip:{region.Engine.Address}:{region.Engine.Port};transport=udp");
        var stamp = $"{SipProxyTier.RegionHeader}: {region.Name}";
        var access = AccessLinkRouting(environment, region);
        var text = new StringBuilder();
        Header(text, $"SIP proxy of region {region.Name} ({environment.Name}), {generatedFor}");
        Line(text, Invariant($"listen=udp:{region.Sip.Address}:{region.Sip.UdpPort}"));
        Line(text, Invariant($"listen=tcp:{region.Sip.Address}:{region.Sip.TcpPort}"));
        // Every TCP connection of a region's proxy is one its caller (the balancer) opened. Without this, a response
        // arriving after that connection closed (its caller gave up) made Kamailio connect to the Via's address — the
        // balancer's outgoing port, where nothing listens — and log three lines about it: 15 000 refused connects in a
        // 10 s overload at 1400 CPS, work that only deepened the overload. Such a response is now dropped at once.
        Line(text, "tcp_no_connect=yes");
        if (access.Alias is not null)
        {
            Line(text, access.Alias);
        }

        Modules(text, "tm", "sl", "rr", "pv", "maxfwd", "textops", "siputils");
        Line(text, "modparam(\"tm\", \"fr_timer\", 2000)");
        Line(text, "modparam(\"tm\", \"fr_inv_timer\", 10000)");
        text.Append(CultureInfo.InvariantCulture, $$"""

            request_route {
            {{access.Rport}}
                if (!mf_process_maxfwd_header("10")) {
                    sl_send_reply("483", "Too Many Hops");
                    exit;
                }

                # Health checks (the balancer's SIP OPTIONS) are answered here, not by the engine.
                if (is_method("OPTIONS") && !has_totag()) {
                    append_to_reply("{{stamp}}\r\n");
                    sl_send_reply("200", "OK");
                    exit;
                }

                if (has_totag()) {
                    if (loose_route()) {
                        t_on_reply("stamp");
                        t_relay();
                        exit;
                    }

                    if (is_method("ACK")) {
                        if (t_check_trans()) {
                            t_relay();
                        }

                        exit;
                    }

                    sl_send_reply("404", "Not here");
                    exit;
                }

                if (is_method("CANCEL")) {
                    if (t_check_trans()) {
                        t_relay();
                    }

                    exit;
                }

                t_check_trans();
                if (is_method("INVITE|SUBSCRIBE")) {
            {{access.RecordRoute}}
                }

                # Every new request goes to this region's engine.
                $du = "{{engine}}";
                t_on_reply("stamp");
                if (!t_relay()) {
                    sl_reply_error();
                }

                exit;
            }

            onreply_route[stamp] {
                append_hf("{{stamp}}\r\n");
            }

            """);
        return text.ToString();
    }

    /// <summary>
    /// What a region's proxy needs for the balancer's access link (<see cref="BalancerAccessLinkPlan"/>). Without it: no
    /// alias, the usual <c>record_route()</c>. With it: the link's address is an alias of the proxy (its Route headers are
    /// the proxy's own); every reply goes to the request's source (<c>force_rport()</c>), which is the link, not the
    /// balancer named in the top Via; and over UDP the proxy record-routes twice (<c>record_route_preset</c>: the first
    /// towards the engine, the second, the link's address, towards the balancer), so the balancer sends the ACK and the
    /// BYE through the link too. Over TCP (HAProxy) the caller's in-dialog requests stay on the call's connection, which
    /// crosses the link already.
    /// </summary>
    private static (string? Alias, string Rport, string RecordRoute) AccessLinkRouting(EnvironmentDefinition environment, RegionDefinition region)
    {
        const string plain = "        record_route();";
        if (!environment.Balancer.AccessLinks.Enabled)
        {
            return (null, string.Empty, plain);
        }

        var entry = BalancerAccessLinkPlan.EntryFor(environment, region);
        var protocol = environment.Balancer.Protocol.Name();
        var rport = """
                # Replies go back the way the request came: through the balancer's access link, not to its Via.
                force_rport();
            """;
        if (environment.Balancer.Transport != BalancerTransport.Udp)
        {
            return (Invariant($"alias={protocol}:{entry.Address}:{entry.Port}"), rport, plain);
        }

        var towardsEngine = Invariant($"{region.Sip.Address}:{region.Sip.UdpPort};r2=on");
        var towardsBalancer = Invariant($"{entry.Address}:{entry.Port};r2=on");
        var recordRoute = $$"""
                    if ($pr == "udp") {
                        record_route_preset("{{towardsEngine}}", "{{towardsBalancer}}");
                    } else {
                        record_route();
                    }
            """;
        return (Invariant($"alias={protocol}:{entry.Address}:{entry.Port}"), rport, recordRoute);
    }

    /// <summary>
    /// The UDP global balancer: Kamailio's dispatcher at the balancer address, one destination per region
    /// (<see cref="DispatcherList"/>), algorithm <see cref="DispatcherAlgorithm"/>, SIP OPTIONS pings with the profile's
    /// health-check timings (the dispatcher counts its interval in whole seconds: 500 ms becomes 1 s), and a control
    /// socket (<see cref="SipProxyTier.BalancerControlSocket"/>) for kamcmd. With <see cref="BalancerDefinition.Redispatch"/>
    /// a call that fails or times out on one region is re-sent to the next.
    /// </summary>
    public static string BalancerFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var balancer = environment.Balancer;
        var check = balancer.HealthCheck;
        var text = new StringBuilder();
        Header(text, $"global SIP balancer (dispatcher) of {environment.Name}, run {run.RunId}");
        Line(text, Invariant($"listen=udp:{balancer.Address}:{balancer.SipPort}"));
        if (environment.Hosts == RegionHosting.Containers && !balancer.AccessLinks.Enabled)
        {
            // A region's container cannot answer this machine's loopback: the dispatcher reaches each region's proxy from
            // this machine's side of the region's network (mhomed: the socket the route to the destination leaves by),
            // and record-routes both of its sockets, so in-dialog requests and replies come back the same way.
            foreach (var region in environment.Regions)
            {
                Line(text, Invariant($"listen=udp:{region.HostSideAddress}:{balancer.SipPort}"));
            }

            Line(text, "mhomed=1");
        }

        var breaker = balancer.CircuitBreaker;
        Modules(text, ["tm", "sl", "rr", "pv", "maxfwd", "textops", "siputils", "ctl", "dispatcher", .. breaker.Enabled ? new[] { "htable", "xlog" } : []]);
        Line(text, Invariant($"modparam(\"ctl\", \"binrpc\", \"unix:{SipProxyTier.ControlSocketPath(run)}\")"));
        if (breaker.Enabled)
        {
            // The circuit breaker's count of calls in a row each region (address:port) left without any reply.
            Line(text, "modparam(\"htable\", \"htable\", \"breaker=>size=4;\")");
        }

        // The ping's own timeout is tm's fr_timer (no 100 Trying comes for OPTIONS).
        Line(text, Invariant($"modparam(\"tm\", \"fr_timer\", {Milliseconds(check.Timeout)})"));
        Line(text, "modparam(\"tm\", \"fr_inv_timer\", 10000)");
        Line(text, Invariant($"modparam(\"dispatcher\", \"list_file\", \"{run.PathOf(SipProxyTier.DispatcherListFile)}\")"));
        Line(text, "modparam(\"dispatcher\", \"flags\", 2)");
        // Weights change through reloads; the default allows one every 5 s.
        Line(text, "modparam(\"dispatcher\", \"reload_delta\", 0)");
        Line(text, Invariant($"modparam(\"dispatcher\", \"ds_ping_interval\", {PingSeconds(check.Interval)})"));
        Line(text, "modparam(\"dispatcher\", \"ds_probing_mode\", 1)");
        Line(text, Invariant($"modparam(\"dispatcher\", \"ds_probing_threshold\", {check.Fall})"));
        Line(text, Invariant($"modparam(\"dispatcher\", \"ds_inactive_threshold\", {check.Rise})"));
        Line(text, "modparam(\"dispatcher\", \"ds_ping_reply_codes\", \"class=2\")");
        Line(text, Invariant($"modparam(\"dispatcher\", \"ds_ping_from\", \"sip:healthcheck@{balancer.Address}\")"));
        // The guide's circuit breaker: a region that left FailuresToOpen calls in a row without any reply (tm's timer
        // fired; a live region's proxy answers 100 Trying at once) is marked inactive and probing at once; its pings bring
        // it back after their rise (ds_inactive_threshold). Any reply from it starts the count again.
        // Its log line names the region, for the servers' events (ServerLogEvents).
        var regionNames = string.Concat(environment.Regions.Select(region =>
        {
            var entry = BalancerAccessLinkPlan.EntryFor(environment, region);
            return Invariant($"            if ($var(region) == \"{entry.Address}:{entry.Port}\") {{ $var(name) = \"{region.Name}\"; }}\n");
        }));
        var openBreaker = breaker.Enabled
            ? Invariant($$"""
                  if (t_branch_timeout() && !t_branch_replied()) {
                      $var(region) = $(du{uri.host}) + ":" + $(du{uri.port});
                      if ($shtinc(breaker=>$var(region)) >= {{breaker.FailuresToOpen}}) {
                          $sht(breaker=>$var(region)) = 0;
                          ds_mark_dst("ip");
                          $var(name) = "a region";
              {{regionNames}}            xlog("L_WARN", "circuit breaker: $var(name) ($var(region)) marked down after {{breaker.FailuresToOpen}} calls in a row without a reply\n");
                      }
                  }

              """)
            : string.Empty;
        var closeCount = breaker.Enabled
            ? """

              onreply_route[region_reply] {
                  $sht(breaker=>$si:$sp) = 0;
              }
              """
            : string.Empty;
        var onReply = breaker.Enabled ? "t_on_reply(\"region_reply\");" : string.Empty;
        var failover = balancer.Redispatch
            ? """
                  if (t_is_canceled()) {
                      exit;
                  }

                  # Re-send a call whose region failed before the pings marked it down.
                  if (t_check_status("408|5[0-9][0-9]") && ds_next_dst()) {
                      t_on_failure("redispatch");
                      t_relay();
                  }
              """
            : "    exit;";
        // fr_timer is the pings' timeout (500 ms in ci), no longer than T1: a BYE lost on an access link then timed out
        // with 408 before tm's first retransmission (8 of 80 calls at 30 % loss; docs/measured-facts.md, "Kamailio
        // dispatcher: fr_timer and in-dialog requests"). In-dialog requests get RFC 3261's Timer F.
        var inDialogTimeout = balancer.AccessLinks.Enabled
            ? Invariant($"            t_set_fr(0, {InDialogTimeoutMilliseconds});")
            : string.Empty;
        text.Append(CultureInfo.InvariantCulture, $$"""

            request_route {
                if (!mf_process_maxfwd_header("10")) {
                    sl_send_reply("483", "Too Many Hops");
                    exit;
                }

                if (is_method("OPTIONS") && !has_totag()) {
                    sl_send_reply("200", "OK");
                    exit;
                }

                if (has_totag()) {
                    if (loose_route()) {
            {{inDialogTimeout}}
                        t_relay();
                        exit;
                    }

                    if (is_method("ACK")) {
                        if (t_check_trans()) {
                            t_relay();
                        }

                        exit;
                    }

                    sl_send_reply("404", "Not here");
                    exit;
                }

                if (is_method("CANCEL")) {
                    if (t_check_trans()) {
                        t_relay();
                    }

                    exit;
                }

                t_check_trans();
                if (!ds_select_dst("{{DispatcherSet}}", "{{DispatcherAlgorithm}}")) {
                    sl_send_reply("503", "No region available");
                    exit;
                }

                if (is_method("INVITE|SUBSCRIBE")) {
                    record_route();
                }

                t_on_failure("redispatch");
                {{onReply}}
                if (!t_relay()) {
                    sl_reply_error();
                }

                exit;
            }

            failure_route[redispatch] {
            {{openBreaker}}{{failover}}
            }
            {{closeCount}}
            """);
        return text.ToString();
    }

    /// <summary>
    /// The dispatcher list of the UDP balancer: one line per region in set <see cref="DispatcherSet"/>, its SIP UDP
    /// address, flags 9 (inactive and probed: active only once its pings succeed <see cref="HealthCheck.Rise"/> times, so
    /// "up" is observed, not assumed) and its weight as <c>rweight</c>. <paramref name="weights"/> overrides the environment's weights by region.
    /// </summary>
    public static string DispatcherList(EnvironmentDefinition environment, IReadOnlyDictionary<string, int>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var text = new StringBuilder("# setid destination flags priority attributes\n");
        foreach (var region in environment.Regions)
        {
            var weight = weights is not null && weights.TryGetValue(region.Name, out var chosen) ? chosen : region.Weight;
            text.Append(CultureInfo.InvariantCulture,
                $"{DispatcherSet} {DispatcherUri(environment, region)} {InactiveProbed} {region.Priority} rweight={weight};weight={weight};name={region.Name}\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// The dispatcher destination of a region: its SIP UDP address, or its access link's
    /// (<see cref="BalancerAccessLinkPlan.EntryFor"/>) when the environment has them.
    /// </summary>
    public static string DispatcherUri(EnvironmentDefinition environment, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(region);
        var entry = BalancerAccessLinkPlan.EntryFor(environment, region);
        return Invariant($"sip:{entry.Address}:{entry.Port}");
    }

    /// <summary>The dispatcher's ping interval: whole seconds, at least 1 (500 ms becomes 1 s).</summary>
    public static int PingSeconds(TimeSpan interval) => Math.Max(1, (int)Math.Ceiling(interval.TotalSeconds));

    private static void Header(StringBuilder text, string what)
    {
        Line(text, "#!KAMAILIO");
        Line(text, $"# VoxGuard.Resilience: {what}. Generated; do not edit.");
        Line(text, "debug=2");
        Line(text, "log_stderror=yes");
        Line(text, "corelog=3");
        Line(text, "children=1");
        Line(text, "tcp_children=2");
        // The one UDP worker's receive buffer: Kamailio probes up to maxbuffer (default 256 KB, which the kernel shows
        // as 512 KB). At 1000 CPS that held ~0.2 s of the engine's replies, and every time the worker waited that long
        // for a core the rest were dropped, each costing its call a retransmission (T1, 500 ms, then doubling).
        Line(text, Invariant($"maxbuffer={UdpReceiveBufferBytes}"));
        Line(text, Invariant($"tcp_max_connections={TcpMaxConnections}"));
        Line(text, "auto_aliases=no");
        Line(text, "dns=no");
        Line(text, "rev_dns=no");
        Line(text, "dns_try_ipv6=no");
        Line(text, "use_dns_cache=no");
    }

    private static void Modules(StringBuilder text, params string[] modules)
    {
        foreach (var module in modules)
        {
            Line(text, $"loadmodule \"{module}.so\"");
        }
    }

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');

    private static int Milliseconds(TimeSpan duration) => (int)Math.Ceiling(duration.TotalMilliseconds);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
