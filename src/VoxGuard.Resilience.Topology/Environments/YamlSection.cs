using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// One mapping of an environment file, read strictly: unknown keys, missing keys and values of the wrong kind are
/// reported (with path, line and column) instead of thrown, so one pass finds every problem. A section may have
/// layers: the file's own mapping and the same mapping in the applied profile, the profile's keys winning.
/// </summary>
internal sealed partial class YamlSection
{
    private readonly ProblemList _problems;
    private readonly IReadOnlyList<Layer> _layers;

    private YamlSection(ProblemList problems, string path, IReadOnlyList<Layer> layers)
    {
        _problems = problems;
        Path = path;
        _layers = layers;
    }

    /// <summary>Where the file's own mapping for this section begins, to point at when a key is missing from it.</summary>
    private string? Where => Path.Length == 0 ? null : Location(_layers[0].Map, _layers[0].Profile);

    /// <summary>Where problems go.</summary>
    public ProblemList Problems => _problems;

    /// <summary>Where this section sits, e.g. balancer.health_check; empty for the file's root.</summary>
    public string Path { get; }

    /// <summary>Reads the root of a file.</summary>
    public static YamlSection Root(ProblemList problems, YamlMappingNode root, IReadOnlyList<string> keys)
    {
        CheckKeys(problems, root, string.Empty, null, keys);
        return new YamlSection(problems, string.Empty, [new Layer(root, null)]);
    }

    /// <summary>The same root with a profile's overrides on top; their keys were checked when the profile was read.</summary>
    public YamlSection WithOverlay(YamlMappingNode overlay, string profile) =>
        new(_problems, Path, [.. _layers, new Layer(overlay, profile)]);

    /// <summary>The mapping of the top layer (the profile's, when it sets this section).</summary>
    public YamlMappingNode TopMap => _layers[^1].Map;

    /// <summary>Reads one entry of a list as a mapping with the given keys.</summary>
    public static YamlSection? FromItem(ProblemList problems, Item item, IReadOnlyList<string> keys)
    {
        Locate(problems, item.Path, item.Node, item.Profile);
        if (IsNull(item.Node) || item.Node is not YamlMappingNode map)
        {
            problems.AddUnreadable(item.Path, "must be a mapping of keys to values");
            return null;
        }

        CheckKeys(problems, map, item.Path, item.Profile, keys);
        return new YamlSection(problems, item.Path, [new Layer(map, item.Profile)]);
    }

    /// <summary>A nested mapping; <paramref name="keys"/> null accepts any key (e.g. region names).</summary>
    public YamlSection? Section(string key, bool required, IReadOnlyList<string>? keys)
    {
        var path = Child(key);
        var layers = new List<Layer>();
        foreach (var layer in _layers)
        {
            var node = Find(layer.Map, key);
            if (node is null || IsNull(node))
            {
                continue;
            }

            Locate(_problems, path, node, layer.Profile);
            if (node is not YamlMappingNode map)
            {
                _problems.AddUnreadable(path, "must be a mapping of keys to values");
                return null;
            }

            CheckKeys(_problems, map, path, layer.Profile, keys);
            layers.Add(new Layer(map, layer.Profile));
        }

        if (layers.Count == 0)
        {
            Missing(path, required);
            return null;
        }

        return new YamlSection(_problems, path, layers);
    }

    /// <summary>A list; a profile that sets it replaces it whole.</summary>
    public IReadOnlyList<Item>? Sequence(string key, bool required)
    {
        var path = Child(key);
        if (Get(key, required) is not { } value)
        {
            return null;
        }

        if (value.Node is not YamlSequenceNode sequence)
        {
            _problems.AddUnreadable(path, "must be a list");
            return null;
        }

        return [.. sequence.Children.Select((node, index) => new Item(node, $"{path}[{index}]", value.Profile))];
    }

    /// <summary>The keys present in any layer, in file order (for mappings of names to values).</summary>
    public IReadOnlyList<string> Keys() =>
        [.. _layers.SelectMany(layer => layer.Map.Children.Keys).Select(KeyText).Distinct(StringComparer.Ordinal)];

    public bool Has(string key) => _layers.Any(layer => Find(layer.Map, key) is { } node && !IsNull(node));

    public string? String(string key, bool required) => Scalar(key, required, out _);

    public int? Int(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        _problems.AddUnreadable(path, $"'{text}' is not a whole number");
        return null;
    }

    public double? Number(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
        {
            return value;
        }

        _problems.AddUnreadable(path, $"'{text}' is not a number");
        return null;
    }

    public bool? Bool(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        switch (text)
        {
            case null:
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                _problems.AddUnreadable(path, $"'{text}' must be true or false");
                return null;
        }
    }

    public TimeSpan? Duration(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        if (DurationText.TryParse(text, out var duration))
        {
            return duration;
        }

        _problems.AddUnreadable(path, $"'{text}' is not a duration; write a number and a unit ({DurationText.Units}), e.g. 500ms or 10s");
        return null;
    }

    public IPAddress? Address(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        if (Ipv4().IsMatch(text))
        {
            return IPAddress.Parse(text);
        }

        _problems.AddUnreadable(path, $"'{text}' is not an IPv4 address like 127.0.1.1");
        return null;
    }

    public IPNetwork? Network(string key, bool required)
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0
            && Ipv4().IsMatch(text[..slash])
            && int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            && prefix is >= 0 and <= 32)
        {
            var address = IPAddress.Parse(text[..slash]);
            var network = new IPNetwork(address, prefix);
            if (network.BaseAddress.Equals(address))
            {
                return network;
            }

            _problems.AddUnreadable(path, $"'{text}' has address bits set past the /{prefix} prefix; write the block's first address, {network}");
            return null;
        }

        _problems.AddUnreadable(path, $"'{text}' is not an address block like 127.0.1.0/24");
        return null;
    }

    /// <summary>One of a fixed set of words (role: primary | replica).</summary>
    public T? Choice<T>(string key, bool required, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        var text = Scalar(key, required, out var path);
        if (text is null)
        {
            return null;
        }

        if (choices.TryGetValue(text, out var value))
        {
            return value;
        }

        _problems.AddUnreadable(path, $"'{text}' must be one of: {string.Join(", ", choices.Keys)}");
        return null;
    }

    private string? Scalar(string key, bool required, out string path)
    {
        path = Child(key);
        if (Get(key, required) is not { } value)
        {
            return null;
        }

        if (value.Node is not YamlScalarNode scalar)
        {
            _problems.AddUnreadable(path, "must be a single value, not a list or a mapping");
            return null;
        }

        return scalar.Value ?? string.Empty;
    }

    private (YamlNode Node, string? Profile)? Get(string key, bool required)
    {
        var path = Child(key);
        for (var index = _layers.Count - 1; index >= 0; index--)
        {
            var node = Find(_layers[index].Map, key);
            if (node is not null && !IsNull(node))
            {
                Locate(_problems, path, node, _layers[index].Profile);
                return (node, _layers[index].Profile);
            }
        }

        Missing(path, required);
        return null;
    }

    private void Missing(string path, bool required)
    {
        if (required)
        {
            _problems.AddUnreadable(path, Where is { } where ? $"is required (missing from the mapping at {where})" : "is required");
        }
    }

    private string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private static YamlNode? Find(YamlMappingNode map, string key)
    {
        foreach (var (name, value) in map.Children)
        {
            if (name is YamlScalarNode scalar && string.Equals(scalar.Value, key, StringComparison.Ordinal))
            {
                return value;
            }
        }

        return null;
    }

    private static void CheckKeys(ProblemList problems, YamlMappingNode map, string path, string? profile, IReadOnlyList<string>? keys)
    {
        if (keys is null)
        {
            return;
        }

        foreach (var name in map.Children.Keys)
        {
            var text = KeyText(name);
            if (!keys.Contains(text, StringComparer.Ordinal))
            {
                var keyPath = path.Length == 0 ? text : $"{path}.{text}";
                Locate(problems, keyPath, name, profile);
                problems.Add(keyPath, $"is not a known key (known: {string.Join(", ", keys)})");
            }
        }
    }

    private static string KeyText(YamlNode key) => key is YamlScalarNode { Value: { } value } ? value : key.ToString();

    /// <summary>An empty value, ~ or null written without quotes: the key is treated as absent.</summary>
    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static void Locate(ProblemList problems, string path, YamlNode node, string? profile)
    {
        if (Location(node, profile) is { } location)
        {
            problems.Locate(path, location);
        }
    }

    /// <summary>"line 12, column 7" (", in profile 'ci'" when the node is a profile's); null for a node made in code.</summary>
    private static string? Location(YamlNode node, string? profile)
    {
        if (node.Start.Line <= 0)
        {
            return null;
        }

        var location = string.Create(CultureInfo.InvariantCulture, $"line {node.Start.Line}, column {node.Start.Column}");
        return profile is null ? location : $"{location}, in profile '{profile}'";
    }

    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4();

    /// <summary>One mapping a section reads, and the profile it came from (null: the file itself).</summary>
    internal readonly record struct Layer(YamlMappingNode Map, string? Profile);

    /// <summary>One entry of a list, with its path (regions[1]) and the profile it came from.</summary>
    internal readonly record struct Item(YamlNode Node, string Path, string? Profile);
}
