using System.Globalization;
using System.Text;
using System.Xml;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Privacy;

namespace VoxGuard.Resilience.Reporting.JUnit;

/// <summary>
/// Writes <c>junit.xml</c> for CI systems: one <c>testsuite</c> per fixture, one <c>testcase</c> per scenario test; a
/// missed target is a <c>failure</c>, a harness or infrastructure error an <c>error</c>, a skipped test <c>skipped</c>.
/// </summary>
public static class JUnitWriter
{
    /// <summary>Writes the results to <paramref name="path"/>.</summary>
    /// <param name="results">The Allure results of the run.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="runId">The run's name (the root element's name).</param>
    /// <param name="properties">Run properties (environment, profile, commit…), written on every suite.</param>
    public static void Write(IReadOnlyList<AllureResult> results, string path, string runId, IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(path);
        var props = properties.ToList();
        var culture = CultureInfo.InvariantCulture;
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var xml = XmlWriter.Create(path, settings);
        xml.WriteStartDocument();
        xml.WriteStartElement("testsuites");
        xml.WriteAttributeString("name", runId);
        WriteCounts(xml, results);
        foreach (var suite in results.GroupBy(SuiteName, StringComparer.Ordinal).OrderBy(group => group.Key, StringComparer.Ordinal))
        {
            var cases = suite.OrderBy(result => result.Start).ToList();
            xml.WriteStartElement("testsuite");
            xml.WriteAttributeString("name", suite.Key);
            WriteCounts(xml, cases);
            xml.WriteAttributeString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(cases.Min(result => result.Start)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", culture));
            xml.WriteAttributeString("hostname", cases.SelectMany(result => result.Labels).FirstOrDefault(label => label.Name == "host")?.Value ?? "unknown");
            xml.WriteStartElement("properties");
            foreach (var (name, value) in props)
            {
                xml.WriteStartElement("property");
                xml.WriteAttributeString("name", name);
                xml.WriteAttributeString("value", SecretScrubber.Scrub(value));
                xml.WriteEndElement();
            }

            xml.WriteEndElement();
            foreach (var result in cases)
            {
                xml.WriteStartElement("testcase");
                xml.WriteAttributeString("name", result.Name);
                xml.WriteAttributeString("classname", ClassName(result));
                xml.WriteAttributeString("time", Seconds(result));
                var message = SecretScrubber.Scrub(result.StatusDetails?.Message ?? string.Empty);
                var trace = SecretScrubber.Scrub(result.StatusDetails?.Trace ?? string.Empty);
                switch (result.Status)
                {
                    case AllureStatus.Failed:
                        WriteProblem(xml, "failure", message, "TargetMissed", trace);
                        break;
                    case AllureStatus.Broken:
                        WriteProblem(xml, "error", message, "HarnessError", trace);
                        break;
                    case AllureStatus.Skipped:
                        xml.WriteStartElement("skipped");
                        xml.WriteAttributeString("message", Clean(message));
                        xml.WriteEndElement();
                        break;
                    case AllureStatus.Passed:
                    default:
                        break;
                }

                if (result.Labels.Any(label => label is { Name: "tag", Value: "negative-control" }) && result.Status == AllureStatus.Passed)
                {
                    xml.WriteElementString("system-out", "negative control: its checked target missed as designed");
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }

        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static void WriteCounts(XmlWriter xml, IReadOnlyCollection<AllureResult> results)
    {
        var culture = CultureInfo.InvariantCulture;
        xml.WriteAttributeString("tests", results.Count.ToString(culture));
        xml.WriteAttributeString("failures", results.Count(result => result.Status == AllureStatus.Failed).ToString(culture));
        xml.WriteAttributeString("errors", results.Count(result => result.Status == AllureStatus.Broken).ToString(culture));
        xml.WriteAttributeString("skipped", results.Count(result => result.Status == AllureStatus.Skipped).ToString(culture));
        xml.WriteAttributeString("time", (results.Sum(result => result.Stop - result.Start) / 1000.0).ToString("F3", culture));
    }

    private static void WriteProblem(XmlWriter xml, string element, string message, string type, string trace)
    {
        xml.WriteStartElement(element);
        xml.WriteAttributeString("message", Clean(message));
        xml.WriteAttributeString("type", type);
        xml.WriteString(Clean(string.IsNullOrEmpty(trace) ? message : message + "\n\n" + trace));
        xml.WriteEndElement();
    }

    private static string SuiteName(AllureResult result) =>
        result.Labels.FirstOrDefault(label => label.Name == "testClass")?.Value ?? "VoxGuard.Resilience.Scenarios";

    private static string ClassName(AllureResult result) => SuiteName(result);

    private static string Seconds(AllureResult result) => ((result.Stop - result.Start) / 1000.0).ToString("F3", CultureInfo.InvariantCulture);

    // XML 1.0 cannot carry most control characters (a server log's escape codes); drop them.
    private static string Clean(string text) => new([.. text.Where(character => character is '\n' or '\r' or '\t' || !char.IsControl(character))]);
}
