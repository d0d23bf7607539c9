using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>
/// Each rule broken on purpose in a small YAML text: the one <see cref="EnvironmentException"/> must name the file,
/// every problem (by path, and by line and column where it sits in the file) and what to do next.
/// </summary>
[TestFixture]
public sealed class EnvironmentValidationTests
{
    [Test]
    public void The_tiny_environment_used_by_these_tests_is_valid()
    {
        var tiny = TinyEnvironment.Parse(TinyEnvironment.Yaml);

        Assert.Multiple(() =>
        {
            Assert.That(tiny.Regions, Has.Count.EqualTo(3));
            Assert.That(tiny.Profile?.Name, Is.EqualTo("documented"));
            Assert.That(tiny.Source, Is.EqualTo(TinyEnvironment.Source));
        });
    }

    [Test]
    public void Every_problem_is_named_in_one_message_that_names_the_file_and_says_what_to_do()
    {
        var yaml = TinyEnvironment.With(TinyEnvironment.Yaml, "weight: 15, priority: 2", "weight: 101, priority: 2");
        yaml = TinyEnvironment.With(yaml, "{ from: abuja, to: asaba", "{ from: abuja2, to: asaba");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.StartWith("Invalid environment 'tiny.yaml': regions[1].weight must be between 0 and 100"));
            Assert.That(error.Message, Does.Contain("links[2].from 'abuja2' is not a region (known: lagos, abuja, asaba)"));
            Assert.That(error.Message, Does.Contain("regions weights sum to 186 (lagos 70, abuja 101, asaba 15); they must sum to 100"));
            Assert.That(error.Message, Does.EndWith(". Fix the file and run again."));
            Assert.That(error.Problems, Has.Count.EqualTo(3));
            Assert.That(error.Message, Is.EqualTo($"Invalid environment 'tiny.yaml': {string.Join("; ", error.Problems)}. Fix the file and run again."));
            Assert.That(error.EnvironmentSource, Is.EqualTo("tiny.yaml"));
        });
    }

    [Test]
    public void Problems_name_the_line_and_column_of_the_offending_value()
    {
        var yaml = TinyEnvironment.With("weight: 15, priority: 2", "weight: 101, priority: 2");
        var line = TinyEnvironment.LineOf(yaml, "name: abuja");
        var column = yaml.Split('\n')[line - 1].IndexOf("101", StringComparison.Ordinal) + 1;

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems, Does.Contain($"regions[1].weight must be between 0 and 100 (line {line}, column {column})"));
    }

    [Test]
    public void Malformed_yaml_is_one_clear_error_with_line_and_column()
    {
        var yaml = TinyEnvironment.With("  sip_port: 5060", "  sip_port: [5060");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Problems, Has.Count.EqualTo(1));
            Assert.That(error.Message, Does.StartWith("Invalid environment 'tiny.yaml': the YAML does not parse: "));
            Assert.That(error.Message, Does.Match(@"\(line \d+, column \d+\)\. Fix the file and run again\.$"));
            Assert.That(error.Message, Does.Not.Contain("Idx:"), "YamlDotNet's raw mark prefix is replaced by line and column");
        });
    }

    [Test]
    public void Priority_mode_over_udp_is_refused_naming_the_transport_it_needs()
    {
        var yaml = TinyEnvironment.With("mode: roundrobin", "mode: priority").Replace("transport: tcp", "transport: udp", StringComparison.Ordinal);

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems.Single(), Does.StartWith("balancer.mode priority (active/standby) needs transport: tcp"));
    }

    [Test]
    public void A_circuit_breaker_closing_after_other_than_the_checks_rise_is_refused_and_one_turned_off_may()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("successes_to_close: 2", "successes_to_close: 3"));
        var off = TinyEnvironment.Parse(TinyEnvironment.With("circuit_breaker: { failures_to_open: 5, successes_to_close: 2 }", "circuit_breaker: { enabled: false, failures_to_open: 5, successes_to_close: 3 }"));

        Assert.Multiple(() =>
        {
            Assert.That(error.Problems.Single(), Does.StartWith("balancer.circuit_breaker.successes_to_close 3 differs from the health check's rise 2").And.Contain("make them equal"));
            Assert.That(off.Balancer.CircuitBreaker, Is.EqualTo(new CircuitBreaker(5, 3, Enabled: false)));
        });
    }

    [Test]
    public void A_tab_used_as_indentation_is_located_on_its_own_line()
    {
        var yaml = TinyEnvironment.With("  sip_port: 5060", "\tsip_port: 5060");
        var line = TinyEnvironment.LineOf(yaml, "\tsip_port");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems[0], Does.Contain("tab").And.Contain($"(line {line}, column 1"));
    }

    [Test]
    public void A_key_given_twice_is_a_syntax_error()
    {
        var yaml = TinyEnvironment.With("  sip_port: 5060", "  sip_port: 5060\n  sip_port: 5061");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Message, Does.Contain("the YAML does not parse").And.Contain("Duplicate key"));
    }

    [Test]
    public void An_unknown_key_is_named_with_its_line_column_and_the_known_keys()
    {
        var yaml = TinyEnvironment.With("  redispatch: true", "  redispatch: true\n  redispach: false");
        var line = TinyEnvironment.LineOf(yaml, "redispach:");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems, Is.EqualTo(new[]
        {
            $"balancer.redispach is not a known key (known: address, sip_port, transport, mode, redispatch, health_check, session_affinity, circuit_breaker, access_links) (line {line}, column 3)",
        }));
    }

    [Test]
    public void An_unknown_key_in_a_profile_names_the_profile_even_when_another_profile_is_applied()
    {
        var yaml = TinyEnvironment.With("      health_check: { interval: 500ms,", "      helth_check: { interval: 500ms,");
        var line = TinyEnvironment.LineOf(yaml, "helth_check");

        var error = TinyEnvironment.Refuse(yaml, "documented");

        Assert.That(error.Problems, Is.EqualTo(new[]
        {
            $"balancer.helth_check is not a known key (known: address, sip_port, transport, mode, redispatch, health_check, session_affinity, circuit_breaker, access_links) (line {line}, column 7, in profile 'ci')",
        }));
    }

    [TestCase("20 ms")]
    [TestCase("20")]
    [TestCase("twenty")]
    [TestCase("20sec")]
    public void A_bad_duration_is_named_by_its_field(string latency)
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("to: abuja, latency: 20ms", $"to: abuja, latency: '{latency}'"));

        Assert.That(error.Problems, Has.Count.EqualTo(1));
        Assert.That(error.Problems[0], Does.StartWith($"links[0].latency '{latency}' is not a duration; write a number and a unit (ms, s, min, h)"));
    }

    [Test]
    public void A_bad_duration_in_the_applied_profile_is_located_in_that_profile()
    {
        var yaml = TinyEnvironment.With("interval: 500ms", "interval: 0.5 s");
        var line = TinyEnvironment.LineOf(yaml, "interval: 0.5 s");
        var column = yaml.Split('\n')[line - 1].IndexOf("0.5 s", StringComparison.Ordinal) + 1;

        var error = TinyEnvironment.Refuse(yaml, "ci");

        Assert.That(error.Problems, Is.EqualTo(new[]
        {
            $"balancer.health_check.interval '0.5 s' is not a duration; write a number and a unit (ms, s, min, h), e.g. 500ms or 10s (line {line}, column {column}, in profile 'ci')",
        }));
    }

    [Test]
    public void Values_of_the_wrong_kind_are_named_without_cascading_into_other_rules()
    {
        var yaml = TinyEnvironment.With("weight: 70", "weight: seventy");
        yaml = TinyEnvironment.With(yaml, "redispatch: true", "redispatch: yes");
        yaml = TinyEnvironment.With(yaml, "role: primary", "role: master");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems.Select(problem => problem[..problem.IndexOf(" (line", StringComparison.Ordinal)]), Is.EquivalentTo(new[]
        {
            "regions[0].role 'master' must be one of: primary, replica",
            "regions[0].weight 'seventy' is not a whole number",
            "balancer.redispatch 'yes' must be true or false",
        }), "neither a missing primary nor a weight sum is reported for values that could not be read");
    }

    [Test]
    public void A_missing_section_is_required()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("replication: { lag_target: 100ms, lag_alert: 500ms }\n", string.Empty));

        Assert.That(error.Problems, Is.EqualTo(new[] { "replication is required" }));
    }

    [Test]
    public void A_missing_key_points_at_the_mapping_it_is_missing_from()
    {
        var yaml = TinyEnvironment.With("engine: { address: 127.0.2.2, port: 5070 }, ", string.Empty);
        var line = TinyEnvironment.LineOf(yaml, "name: abuja");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems, Is.EqualTo(new[] { $"regions[1].engine is required (missing from the mapping at line {line}, column 5)" }));
    }

    [Test]
    public void An_environment_loaded_by_name_must_carry_that_name()
    {
        var directory = Directory.CreateTempSubdirectory("voxguard-environments-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "other.yaml"), TinyEnvironment.Yaml);
            var loader = new EnvironmentLoader(directory.FullName);

            var error = Assert.Throws<EnvironmentException>(() => loader.Load("other"));

            Assert.Multiple(() =>
            {
                Assert.That(loader.KnownEnvironments, Is.EqualTo(new[] { "other" }));
                Assert.That(error!.Message, Does.StartWith($"Invalid environment '{directory.Name}/other.yaml': name 'tiny' does not match the file name other.yaml (line 1, column 7)"));
            });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public void Weights_not_summing_to_100_are_listed_region_by_region()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("weight: 15, priority: 3", "weight: 5, priority: 3"));

        Assert.That(error.Problems, Is.EqualTo(new[] { "regions weights sum to 90 (lagos 70, abuja 15, asaba 5); they must sum to 100 (line 5, column 3)" }));
    }

    [Test]
    public void A_negative_weight_is_out_of_range()
    {
        var yaml = TinyEnvironment.With("weight: 70", "weight: 80");
        yaml = TinyEnvironment.With(yaml, "weight: 15, priority: 2", "weight: 30, priority: 2");
        yaml = TinyEnvironment.With(yaml, "weight: 15, priority: 3", "weight: -10, priority: 3");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Message, Does.Contain("regions[2].weight must be between 0 and 100"));
        Assert.That(error.Problems, Has.Count.EqualTo(1), "the weights still sum to 100");
    }

    [Test]
    public void A_non_loopback_address_is_refused_because_the_harness_only_targets_loopback()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("redis: { address: 127.0.1.3", "redis: { address: 10.0.1.3"));

        Assert.That(error.Problems, Has.Count.EqualTo(1));
        Assert.That(error.Problems[0], Does.StartWith("regions[0].redis.address 10.0.1.3 is outside 127.0.0.0/8: the harness only ever targets loopback addresses"));
    }

    [Test]
    public void A_non_loopback_block_and_balancer_are_refused_too()
    {
        var yaml = TinyEnvironment.With("address_block: 127.0.3.0/24", "address_block: 192.168.3.0/24");
        yaml = TinyEnvironment.With(yaml, "address: 127.0.0.10", "address: 192.168.0.10");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("regions[2].address_block 192.168.3.0/24 is outside 127.0.0.0/8: the harness only ever targets loopback addresses"));
            Assert.That(error.Message, Does.Contain("balancer.address 192.168.0.10 is outside 127.0.0.0/8"));
        });
    }

    [Test]
    public void A_service_outside_its_regions_block_is_refused()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("postgres: { address: 127.0.1.4", "postgres: { address: 127.0.2.9"));

        Assert.That(error.Problems[0], Does.StartWith("regions[0].postgres.address 127.0.2.9 is outside the region's address_block 127.0.1.0/24"));
    }

    [Test]
    public void A_malformed_address_or_block_is_named()
    {
        var yaml = TinyEnvironment.With("engine: { address: 127.0.2.2", "engine: { address: localhost");
        yaml = TinyEnvironment.With(yaml, "address_block: 127.0.3.0/24", "address_block: 127.0.3.1/24");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("regions[1].engine.address 'localhost' is not an IPv4 address like 127.0.1.1"));
            Assert.That(error.Message, Does.Contain("regions[2].address_block '127.0.3.1/24' has address bits set past the /24 prefix"));
        });
    }

    [Test]
    public void Two_services_on_the_same_address_and_port_are_refused()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("sentinel: { address: 127.0.2.3, port: 26379 }", "sentinel: { address: 127.0.2.3, port: 6379 }"));

        Assert.That(error.Problems[0], Does.StartWith("regions[1].sentinel binds tcp 127.0.2.3:6379, already bound by regions[1].redis"));
    }

    [Test]
    public void The_balancer_inside_a_regions_block_is_refused()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("address: 127.0.0.10", "address: 127.0.1.10"));

        Assert.That(error.Message, Does.Contain("balancer.address 127.0.1.10 is inside regions[0].address_block 127.0.1.0/24"));
    }

    [Test]
    public void An_unknown_region_in_a_link_lists_the_known_regions()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("{ from: lagos, to: asaba", "{ from: lagos2, to: asaba"));

        Assert.That(error.Problems, Has.Count.EqualTo(1));
        Assert.That(error.Problems[0], Does.StartWith("links[1].from 'lagos2' is not a region (known: lagos, abuja, asaba)"));
    }

    [Test]
    public void Links_must_join_two_different_regions_once_each_with_a_latency_that_is_not_negative()
    {
        var yaml = TinyEnvironment.With("{ from: lagos, to: asaba, latency: 30ms }", "{ from: abuja, to: lagos, latency: -5ms }");
        yaml = TinyEnvironment.With(yaml, "{ from: abuja, to: asaba, latency: 25ms }", "{ from: asaba, to: asaba, latency: 25ms }");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("links[1] joins abuja and lagos again (already links[0]); each pair of regions has one link"));
            Assert.That(error.Message, Does.Contain("links[1].latency must not be negative"));
            Assert.That(error.Message, Does.Contain("links[2].to 'asaba' is the same region as from"));
            Assert.That(error.Message, Does.Contain("links has no link between lagos and asaba"));
            Assert.That(error.Message, Does.Contain("links has no link between abuja and asaba"));
        });
    }

    [Test]
    public void Two_primaries_are_refused()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("name: abuja, role: replica", "name: abuja, role: primary"));

        Assert.That(error.Problems[0], Does.StartWith("regions has 2 primaries (lagos, abuja); exactly one region must have role primary"));
    }

    [Test]
    public void No_primary_is_refused()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("name: lagos, role: primary", "name: lagos, role: replica"));

        Assert.That(error.Problems[0], Does.StartWith("regions has no primary; exactly one region must have role primary"));
    }

    [Test]
    public void Region_names_and_priorities_must_be_unique_and_names_usable_in_link_names()
    {
        var yaml = TinyEnvironment.With("name: asaba, role: replica, address_block: 127.0.3.0/24, weight: 15, priority: 3", "name: abuja, role: replica, address_block: 127.0.3.0/24, weight: 15, priority: 2");
        yaml = TinyEnvironment.With(yaml, "name: lagos, role", "name: La-gos, role");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("regions[0].name 'La-gos' must be lower-case letters and digits"));
            Assert.That(error.Message, Does.Contain("regions[2].name 'abuja' is already the name of regions[1]"));
            Assert.That(error.Message, Does.Contain("regions[2].priority 2 is already the priority of regions[1] (abuja)"));
        });
    }

    [Test]
    public void Health_check_timings_must_be_positive_with_the_timeout_within_the_interval()
    {
        var yaml = TinyEnvironment.With("{ interval: 10s, timeout: 5s, rise: 2, fall: 5 }", "{ interval: 5s, timeout: 10s, rise: 0, fall: 0 }");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("balancer.health_check.timeout 10s must not exceed the interval 5s"));
            Assert.That(error.Message, Does.Contain("balancer.health_check.rise must be 1 or more"));
            Assert.That(error.Message, Does.Contain("balancer.health_check.fall must be 1 or more"));
            Assert.That(error.Message, Does.Contain("in profile 'documented'"));
        });
    }

    [Test]
    public void A_zero_interval_is_not_positive()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("{ interval: 500ms, timeout: 500ms", "{ interval: 0ms, timeout: 500ms"), "ci");

        Assert.That(error.Problems[0], Does.StartWith("balancer.health_check.interval must be positive"));
    }

    [Test]
    public void Deviation_threshold_and_split_shares_are_percentages_over_the_surviving_regions()
    {
        var yaml = TinyEnvironment.With("distribution_deviation_alert: 20", "distribution_deviation_alert: 120");
        yaml = TinyEnvironment.With(yaml, "{ abuja: 50, asaba: 50 }", "{ lagos: 10, abuja: 50, asaba: 50 }");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("targets.distribution_deviation_alert must be between 0 and 100 (percent)"));
            Assert.That(error.Message, Does.Contain("targets.traffic_split_after_primary_loss.lagos is the primary"));
            Assert.That(error.Message, Does.Contain("targets.traffic_split_after_primary_loss shares sum to 110; they must sum to 100"));
        });
    }

    [Test]
    public void Replication_alert_below_target_and_a_health_threshold_above_one_are_refused()
    {
        var yaml = TinyEnvironment.With("lag_alert: 500ms", "lag_alert: 50ms");
        yaml = TinyEnvironment.With(yaml, "health_threshold: 0.95", "health_threshold: 95");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("replication.lag_alert 50ms must not be below lag_target 100ms"));
            Assert.That(error.Message, Does.Contain("failback.health_threshold must be between 0 and 1"));
        });
    }

    [Test]
    public void An_unknown_profile_lists_the_known_profiles()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.Yaml, "fast");

        Assert.That(error.Message, Is.EqualTo("Environment 'tiny.yaml' has no profile 'fast' (known: documented, ci). Pick a known profile or add it under profiles:."));
    }

    [Test]
    public void An_unknown_default_profile_is_a_problem_of_the_file()
    {
        var error = TinyEnvironment.Refuse(TinyEnvironment.With("default_profile: documented", "default_profile: documentd"));

        Assert.That(error.Problems[0], Does.StartWith("default_profile 'documentd' is not a profile (known: documented, ci)"));
    }

    [Test]
    public void A_file_without_profiles_must_carry_its_own_timings()
    {
        var yaml = TinyEnvironment.Yaml[..TinyEnvironment.Yaml.IndexOf("profiles:", StringComparison.Ordinal)];
        yaml = TinyEnvironment.With(yaml, "default_profile: documented\n", string.Empty);

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems, Is.EqualTo(new[]
        {
            $"balancer.health_check is required (missing from the mapping at line {TinyEnvironment.LineOf(yaml, "balancer:") + 1}, column 3)",
            $"failback.delay is required (missing from the mapping at line {TinyEnvironment.LineOf(yaml, "failback:")}, column 11)",
        }));
    }

    [Test]
    public void An_empty_file_and_a_file_of_several_documents_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TinyEnvironment.Refuse("# nothing here\n").Message, Does.Contain("the file is empty"));
            Assert.That(TinyEnvironment.Refuse(TinyEnvironment.Yaml + "---\nname: other\n").Message, Does.Contain("the file holds 2 YAML documents"));
            Assert.That(TinyEnvironment.Refuse("- just\n- a list\n").Message, Does.Contain("the top level must be a mapping"));
        });
    }

    [Test]
    public void An_unknown_region_asked_by_name_lists_the_known_regions()
    {
        var tiny = TinyEnvironment.Parse(TinyEnvironment.Yaml);

        var error = Assert.Throws<EnvironmentException>(() => tiny.Region("lagos2"));

        Assert.That(error!.Message, Is.EqualTo("Environment 'tiny' has no region 'lagos2' (known: lagos, abuja, asaba)."));
    }

    [Test]
    public void An_unknown_environment_asked_by_name_lists_the_known_environments()
    {
        var loader = new EnvironmentLoader(RepositoryRoot.Environments);

        var error = Assert.Throws<EnvironmentException>(() => loader.Load("staging"));

        Assert.That(error!.Message, Does.StartWith("No environment 'staging' in ").And.Contain("(known: ").And.Contain("local"));
    }

    [Test]
    public void A_path_that_does_not_exist_is_named_in_the_error()
    {
        var error = Assert.Throws<EnvironmentException>(() => EnvironmentLoader.LoadFile("environments/nowhere.yaml"));

        Assert.That(error!.Message, Does.StartWith("Cannot read environment 'environments/nowhere.yaml': "));
    }

    [Test]
    public void A_definition_changed_in_code_is_checked_by_the_same_rules()
    {
        var tiny = TinyEnvironment.Parse(TinyEnvironment.Yaml);
        var broken = tiny with
        {
            Regions = [.. tiny.Regions.Select(region => region with { Role = RegionRole.Primary })],
            Links = [.. tiny.Links, new LinkDefinition("lagos", "lagos2", TimeSpan.FromMilliseconds(5))],
        };

        var error = Assert.Throws<EnvironmentException>(broken.Validate);

        Assert.That(error!.Problems, Is.EqualTo(new[]
        {
            "regions has 3 primaries (lagos, abuja, asaba); exactly one region must have role primary",
            "links[3].to 'lagos2' is not a region (known: lagos, abuja, asaba)",
        }));
    }
}
