using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>The generated HAProxy and Kamailio configurations, read as text (no server started).</summary>
[TestFixture]
public sealed class SipConfigTests
{
    private RunDirectory _run = null!;

    [SetUp]
    public void CreateRun() => _run = RunDirectory.Create(new RunDirectoryOptions { Root = $"/tmp/vg-sip-{Guid.NewGuid():N}"[..20] });

    [TearDown]
    public async Task RemoveRunAsync() => await _run.DisposeAsync();

    [Test]
    public void Haproxy_has_one_server_per_region_at_its_sip_tcp_address_with_its_weight()
    {
        var environment = SipEnvironments.InBlocks(41);

        var config = HaproxyConfig.For(environment, _run);

        Assert.Multiple(() =>
        {
            foreach (var region in environment.Regions)
            {
                Assert.That(config, Does.Contain($"    server {region.Name} {region.Sip.Address}:{region.Sip.TcpPort} weight {region.Weight} check\n"));
            }

            Assert.That(config, Does.Contain("    bind 127.0.0.41:5060\n"));
            Assert.That(config, Does.Contain("    source 127.0.0.41\n"));
            Assert.That(config, Does.Contain("    mode tcp\n"));
            Assert.That(config, Does.Contain($"    stats socket {SipProxyTier.ControlSocketPath(_run)} mode 600 level admin\n"));
        });
    }

    [TestCase("ci", "inter 500ms fastinter 500ms downinter 500ms rise 2 fall 3 observe layer4 error-limit 5 on-error mark-down", "timeout check 500ms")]
    [TestCase("documented", "inter 10000ms fastinter 10000ms downinter 10000ms rise 2 fall 5 observe layer4 error-limit 5 on-error mark-down", "timeout check 5000ms")]
    public void Haproxy_health_check_timings_come_from_the_profile(string profile, string checks, string timeout)
    {
        var config = HaproxyConfig.For(SipEnvironments.InBlocks(41, profile), _run);

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain($"    default-server {checks}\n"));
            Assert.That(config, Does.Contain($"    {timeout}\n"));
        });
    }

    [Test]
    public void Haproxy_checks_each_region_with_a_complete_sip_options_and_expects_a_200()
    {
        var environment = SipEnvironments.InBlocks(41);

        var config = HaproxyConfig.For(environment, _run);
        var request = HaproxyConfig.HealthCheckRequest(environment);

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain("    option tcp-check\n"));
            Assert.That(config, Does.Contain("    tcp-check expect string \"SIP/2.0 200\"\n"));
            Assert.That(config, Does.Contain("    tcp-check send \"OPTIONS sip:healthcheck@127.0.0.41:5060;transport=tcp SIP/2.0\\r\\nVia: SIP/2.0/TCP 127.0.0.41:5060;"));
            Assert.That(request, Does.StartWith("OPTIONS ").And.EndWith("Content-Length: 0\r\n\r\n"));
            foreach (var header in new[] { "Via:", "Max-Forwards:", "From:", "To:", "Call-ID:", "CSeq: 1 OPTIONS" })
            {
                Assert.That(request, Does.Contain("\r\n" + header), header);
            }

            Assert.That(config.Split('\n').Single(line => line.Contains("tcp-check send", StringComparison.Ordinal)), Does.Not.Contain("\r"),
                "the CRLFs are HAProxy escapes inside one line");
        });
    }

    [Test]
    public void Haproxy_round_robin_or_consistent_source_hashing_follows_the_balancer_mode()
    {
        var roundRobin = HaproxyConfig.For(SipEnvironments.InBlocks(41, mode: "roundrobin"), _run);
        var source = HaproxyConfig.For(SipEnvironments.InBlocks(41, mode: "source"), _run);

        Assert.Multiple(() =>
        {
            Assert.That(roundRobin, Does.Contain("    balance roundrobin\n").And.Not.Contain("balance source").And.Not.Contain("hash-type"));
            Assert.That(source, Does.Contain("    balance source\n    hash-type consistent\n").And.Not.Contain("roundrobin"));
        });
    }

    [Test]
    public void Haproxy_priority_mode_makes_priority_1_the_one_active_server_and_the_others_backups_in_order()
    {
        var priority = HaproxyConfig.For(SipEnvironments.InBlocks(41, mode: "priority"), _run);
        var servers = priority.Split('\n').Where(line => line.TrimStart().StartsWith("server ", StringComparison.Ordinal)).Select(line => line.Trim()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(servers.Select(line => line.Split(' ')[1]), Is.EqualTo(new[] { "lagos", "abuja", "asaba" }));
            Assert.That(servers[0], Does.Not.Contain("backup"));
            Assert.That(servers.Skip(1), Is.All.EndsWith(" check backup"));
            Assert.That(priority, Does.Not.Contain("allbackups"), "only the first usable backup takes the calls");
        });
    }

    [Test]
    public void Haproxy_redispatches_and_retries_only_when_the_environment_asks()
    {
        var with = HaproxyConfig.For(SipEnvironments.InBlocks(41, redispatch: true), _run);
        var without = HaproxyConfig.For(SipEnvironments.InBlocks(41, redispatch: false), _run);

        Assert.Multiple(() =>
        {
            Assert.That(with, Does.Contain("    option redispatch 1\n").And.Contain($"    retries {HaproxyConfig.Retries}\n"));
            Assert.That(without, Does.Contain("    no option redispatch\n").And.Contain("    retries 0\n").And.Not.Contain("    option redispatch"));
        });
    }

    [Test]
    public void The_circuit_breaker_marks_a_region_down_after_its_failures_in_a_row_in_both_balancers_and_is_absent_when_off()
    {
        const string Off = "circuit_breaker: { enabled: false, failures_to_open: 5, successes_to_close: 2 }";
        var seven = TinyEnvironment.Yaml.Replace("failures_to_open: 5", "failures_to_open: 7", StringComparison.Ordinal);
        var off = TinyEnvironment.Yaml.Replace("circuit_breaker: { failures_to_open: 5, successes_to_close: 2 }", Off, StringComparison.Ordinal);
        Assert.That(off, Does.Contain(Off), "TinyEnvironment's circuit_breaker line changed: update this test");
        var haproxy = HaproxyConfig.For(SipEnvironments.InBlocks(41, yaml: seven), _run);
        var haproxyOff = HaproxyConfig.For(SipEnvironments.InBlocks(41, yaml: off), _run);
        var dispatcher = KamailioConfig.BalancerFor(SipEnvironments.InBlocks(41, transport: "udp", yaml: seven), _run);
        var dispatcherOff = KamailioConfig.BalancerFor(SipEnvironments.InBlocks(41, transport: "udp", yaml: off), _run);

        Assert.Multiple(() =>
        {
            Assert.That(haproxy, Does.Contain(" rise 2 fall 3 observe layer4 error-limit 7 on-error mark-down\n"), "HAProxy watches every call's connection");
            Assert.That(haproxyOff, Does.Not.Contain("observe"));
            Assert.That(dispatcher, Does.Contain("if ($shtinc(breaker=>$var(region)) >= 7) {").And.Contain("ds_mark_dst(\"ip\");"),
                "the dispatcher counts calls a region left without a reply and marks it inactive and probing");
            var lagos = BalancerAccessLinkPlan.EntryFor(SipEnvironments.InBlocks(41, transport: "udp"), SipEnvironments.InBlocks(41, transport: "udp").Region("lagos"));
            Assert.That(dispatcher, Does.Contain($"if ($var(region) == \"{lagos}\") {{ $var(name) = \"lagos\"; }}"), "its log line names the region");
            Assert.That(dispatcher, Does.Contain("t_on_reply(\"region_reply\");").And.Contain("$sht(breaker=>$si:$sp) = 0;"), "any reply starts the count again");
            Assert.That(dispatcherOff, Does.Not.Contain("breaker").And.Not.Contain("htable"));
        });
    }

    [Test]
    public void Haproxy_keeps_maxconn_within_half_the_file_descriptor_hard_limit()
    {
        var config = HaproxyConfig.For(SipEnvironments.InBlocks(41), _run);

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain($"    maxconn {HaproxyConfig.MaxConnections}\n"));
            Assert.That(HaproxyConfig.MaxConnections * 2, Is.LessThan(20000), "maxconn needs 2× descriptors, hard limit 20000 (docs/measured-facts.md)");
        });
    }

    [Test]
    public void Kamailio_of_a_region_takes_every_connection_the_balancer_may_open_and_a_udp_buffer_for_1000_cps()
    {
        var config = KamailioConfig.For(SipEnvironments.InBlocks(41), _run, SipEnvironments.InBlocks(41).Region("lagos"));

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain($"\ntcp_max_connections={KamailioConfig.TcpMaxConnections}\n"));
            Assert.That(KamailioConfig.TcpMaxConnections, Is.GreaterThanOrEqualTo(HaproxyConfig.MaxConnections),
                "a region must not refuse a connection the balancer is still allowed to open (Kamailio's default is 2048)");
            Assert.That(config, Does.Contain($"\nmaxbuffer={KamailioConfig.UdpReceiveBufferBytes}\n"));
            Assert.That(KamailioConfig.UdpReceiveBufferBytes, Is.GreaterThan(256 * 1024), "above Kamailio's default probe limit, which dropped replies at 1000 CPS");
            Assert.That(config, Does.Contain("\ntcp_no_connect=yes\n"), "a region only answers on connections its caller opened");
        });
    }

    [Test]
    public void Kamailio_of_a_region_listens_on_its_sip_address_forwards_to_its_engine_and_stamps_its_name()
    {
        var environment = SipEnvironments.InBlocks(41);
        var abuja = environment.Region("abuja");

        var config = KamailioConfig.For(environment, _run, abuja);

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain("listen=udp:127.0.42.1:5060\n").And.Contain("listen=tcp:127.0.42.1:5060\n"));
            Assert.That(config, Does.Contain("$du = \"sip:127.0.42.2:5070;transport=udp\";"));
            Assert.That(config, Does.Contain("append_hf(\"X-VoxGuard-Region: abuja\\r\\n\");"));
            Assert.That(config, Does.Contain("append_to_reply(\"X-VoxGuard-Region: abuja\\r\\n\");"));
            Assert.That(config, Does.Contain("onreply_route[stamp]").And.Contain("t_on_reply(\"stamp\");"));
            Assert.That(config, Does.Contain("record_route();").And.Contain("loose_route()"));
            Assert.That(config, Does.Contain("is_method(\"OPTIONS\")").And.Contain("sl_send_reply(\"200\", \"OK\");"));
            Assert.That(config, Does.Contain("\nchildren=1\n").And.Contain("\ntcp_children=2\n").And.Contain("\ncorelog=3\n"));
        });
    }

    [Test]
    public void Nothing_region_specific_is_hard_coded_in_any_configuration()
    {
        // Regions renamed and moved: no trace of the usual names or blocks may remain.
        var yaml = SipEnvironments.Yaml(41).Replace("name: lagos", "name: ikeja", StringComparison.Ordinal)
            .Replace("from: lagos", "from: ikeja", StringComparison.Ordinal).Replace("abuja", "kano", StringComparison.Ordinal)
            .Replace("asaba", "enugu", StringComparison.Ordinal).Replace("address: 127.0.0.41", "address: 127.0.0.77", StringComparison.Ordinal);
        var environment = TinyEnvironment.Parse(yaml, "ci");
        var configs = new List<string> { HaproxyConfig.For(environment, _run), KamailioConfig.BalancerFor(environment, _run), KamailioConfig.DispatcherList(environment) };
        configs.AddRange(environment.Regions.Select(region => KamailioConfig.For(environment, _run, region)));
        var ikeja = KamailioConfig.For(environment, _run, environment.Region("ikeja"));

        Assert.Multiple(() =>
        {
            foreach (var config in configs)
            {
                Assert.That(config, Does.Not.Contain("lagos").And.Not.Contain("abuja").And.Not.Contain("asaba"));
                Assert.That(config, Does.Not.Contain("127.0.1.").And.Not.Contain("127.0.2.").And.Not.Contain("127.0.3.").And.Not.Contain("127.0.0.10"));
            }

            Assert.That(ikeja, Does.Contain("X-VoxGuard-Region: ikeja").And.Not.Contain("kano").And.Not.Contain("enugu"));
            Assert.That(ikeja, Does.Not.Contain("127.0.42.").And.Not.Contain("127.0.43."), "a region's proxy knows only its own addresses");
        });
    }

    [Test]
    public void Dispatcher_balancer_uses_relative_weights_and_pings_with_the_profile_thresholds()
    {
        var environment = SipEnvironments.InBlocks(41, "documented", transport: "udp");

        var config = KamailioConfig.BalancerFor(environment, _run);
        var list = KamailioConfig.DispatcherList(environment);

        Assert.Multiple(() =>
        {
            Assert.That(config, Does.Contain("listen=udp:127.0.0.41:5060\n"));
            Assert.That(config, Does.Contain("ds_select_dst(\"1\", \"11\")"));
            Assert.That(config, Does.Contain("modparam(\"dispatcher\", \"ds_ping_interval\", 10)\n"));
            Assert.That(config, Does.Contain("modparam(\"dispatcher\", \"ds_probing_threshold\", 5)\n"));
            Assert.That(config, Does.Contain("modparam(\"dispatcher\", \"ds_inactive_threshold\", 2)\n"));
            Assert.That(config, Does.Contain("modparam(\"tm\", \"fr_timer\", 5000)\n"));
            Assert.That(config, Does.Contain($"modparam(\"ctl\", \"binrpc\", \"unix:{SipProxyTier.ControlSocketPath(_run)}\")"));
            foreach (var region in environment.Regions)
            {
                Assert.That(list, Does.Contain($"1 sip:{region.Sip.Address}:{region.Sip.UdpPort} 9 {region.Priority} rweight={region.Weight};weight={region.Weight};name={region.Name}\n"));
            }
        });
    }

    [TestCase(500, 1)]
    [TestCase(1000, 1)]
    [TestCase(1500, 2)]
    [TestCase(10000, 10)]
    public void Dispatcher_ping_interval_is_whole_seconds_rounded_up(int milliseconds, int seconds) =>
        Assert.That(KamailioConfig.PingSeconds(TimeSpan.FromMilliseconds(milliseconds)), Is.EqualTo(seconds));

    [Test]
    public void Dispatcher_redispatches_failed_calls_only_when_the_environment_asks()
    {
        var with = KamailioConfig.BalancerFor(SipEnvironments.InBlocks(41, transport: "udp", redispatch: true), _run);
        var without = KamailioConfig.BalancerFor(SipEnvironments.InBlocks(41, transport: "udp", redispatch: false), _run);

        Assert.Multiple(() =>
        {
            Assert.That(with, Does.Contain("ds_next_dst()"));
            Assert.That(without, Does.Not.Contain("ds_next_dst()"));
        });
    }

    [Test]
    public void Dispatcher_list_takes_weights_given_at_runtime()
    {
        var environment = SipEnvironments.InBlocks(41, transport: "udp");

        var list = KamailioConfig.DispatcherList(environment, new Dictionary<string, int> { ["lagos"] = 20 });

        Assert.Multiple(() =>
        {
            Assert.That(list, Does.Contain("rweight=20;weight=20;name=lagos"));
            Assert.That(list, Does.Contain("rweight=15;weight=15;name=abuja"));
        });
    }

    [Test]
    public void Haproxy_show_stat_is_read_into_region_states()
    {
        const string csv = "# pxname,svname,qcur,status,weight,check_status,extra\n"
            + "sip,FRONTEND,0,OPEN,,,\n"
            + "regions,lagos,0,UP,70,L7OK,\n"
            + "regions,abuja,0,DOWN 1/2,15,L4CON,\n"
            + "regions,asaba,0,MAINT,15,* L7OK,\n"
            + "regions,BACKEND,0,UP,85,,\n";

        var states = HaproxyControl.ParseStat(csv);

        Assert.That(states, Is.EqualTo(new[]
        {
            new BalancerServerState("lagos", BalancerServerStatus.Up, "UP", 70, "L7OK"),
            new BalancerServerState("abuja", BalancerServerStatus.Down, "DOWN 1/2", 15, "L4CON"),
            new BalancerServerState("asaba", BalancerServerStatus.Maintenance, "MAINT", 15, "L7OK"),
        }));
    }

    [TestCase("UP", BalancerServerStatus.Up)]
    [TestCase("UP 1/3", BalancerServerStatus.Up)]
    [TestCase("DOWN", BalancerServerStatus.Down)]
    [TestCase("DOWN 1/2", BalancerServerStatus.Down)]
    [TestCase("MAINT (via regions/lagos)", BalancerServerStatus.Maintenance)]
    [TestCase("DRAIN", BalancerServerStatus.Draining)]
    [TestCase("NOLB", BalancerServerStatus.Draining)]
    public void Haproxy_status_words_map_to_a_server_status(string word, BalancerServerStatus status) =>
        Assert.That(HaproxyControl.StatusOf(word), Is.EqualTo(status));

    [Test]
    public void Dispatcher_list_output_is_read_into_region_states_by_uri()
    {
        var environment = SipEnvironments.InBlocks(41, transport: "udp");
        const string text = """
            {
            	NRSETS: 1
            	RECORDS: {
            		SET: {
            			ID: 1
            			TARGETS: {
            				DEST: {
            					URI: sip:127.0.43.1:5060
            					FLAGS: IP
            					PRIORITY: 3
            					ATTRS: {
            						BODY: rweight=15;weight=15;name=asaba
            						WEIGHT: 15
            						RWEIGHT: 15
            					}
            				}
            				DEST: {
            					URI: sip:127.0.41.1:5060
            					FLAGS: AP
            					PRIORITY: 1
            					ATTRS: {
            						WEIGHT: 70
            						RWEIGHT: 30
            					}
            				}
            				DEST: {
            					URI: sip:127.0.42.1:5060
            					FLAGS: DX
            					PRIORITY: 2
            					ATTRS: {
            						RWEIGHT: 15
            					}
            				}
            			}
            		}
            	}
            }
            """;

        var states = DispatcherControl.ParseList(text, environment);

        Assert.That(states, Is.EqualTo(new[]
        {
            new BalancerServerState("lagos", BalancerServerStatus.Up, "AP", 30, "AP"),
            new BalancerServerState("abuja", BalancerServerStatus.Maintenance, "DX", 15, "DX"),
            new BalancerServerState("asaba", BalancerServerStatus.Down, "IP", 15, "IP"),
        }));
    }

    [Test]
    public void A_udp_endpoint_is_found_in_proc_net_udp_by_its_kernel_notation()
    {
        var endpoint = new IPEndPoint(IPAddress.Parse("127.0.91.2"), 5070);
        string[] table =
        [
            "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
            "  100: 025B007F:13CE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0",
        ];

        Assert.Multiple(() =>
        {
            Assert.That(UdpSockets.Local(endpoint), Is.EqualTo("025B007F:13CE"));
            Assert.That(UdpSockets.IsBound(endpoint, table), Is.True);
            Assert.That(UdpSockets.IsBound(new IPEndPoint(IPAddress.Parse("127.0.92.2"), 5070), table), Is.False);
        });
    }

    [Test]
    public async Task A_run_directory_too_deep_for_a_unix_socket_is_refused_with_what_to_do()
    {
        await using var deep = RunDirectory.Create(new RunDirectoryOptions { Root = _run.Path + "/" + new string('d', 60) });

        var refused = Assert.Throws<ArgumentException>(() => HaproxyConfig.For(SipEnvironments.InBlocks(41), deep))!;

        Assert.That(refused.Message, Does.Contain("at most 97").And.Contain("shorter run root"));
    }

    [Test]
    public void The_tier_checks_every_program_before_starting_anything()
    {
        var tcp = SipProxyTier.SpecsFor(SipEnvironments.InBlocks(41), _run);
        var udp = SipProxyTier.SpecsFor(SipEnvironments.InBlocks(41, transport: "udp"), _run);

        Assert.Multiple(() =>
        {
            Assert.That(tcp.Select(spec => spec.Executable).Distinct(), Is.EquivalentTo(new[] { "sipp", "kamailio", "haproxy" }));
            Assert.That(udp.Select(spec => spec.Executable).Distinct(), Is.EquivalentTo(new[] { "sipp", "kamailio", "kamcmd" }));
            Assert.That(tcp.Select(spec => spec.Name), Is.Unique);
            Assert.That(tcp.Single(spec => spec.Name == "lagos-kamailio").Arguments,
                Is.SupersetOf(new[] { "-DD", "-E", _run.PathOf("lagos-kamailio.kamailio-pid"), _run.Path }),
                "foreground, absolute PID file and working directory");
        });
    }
}
