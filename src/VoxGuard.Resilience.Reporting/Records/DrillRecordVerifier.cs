using System.Text.Json;

namespace VoxGuard.Resilience.Reporting.Records;

/// <summary>The result of checking a run's evidence against its drill record.</summary>
/// <param name="Intact">True when every recorded file is present with its recorded SHA-256 and no evidence file was added.</param>
/// <param name="Checked">How many recorded files were checked.</param>
/// <param name="Problems">One line per file that is missing, modified or not in the record.</param>
public sealed record DrillRecordVerification(bool Intact, int Checked, IReadOnlyList<string> Problems);

/// <summary>Checks a run's evidence files against the SHA-256 hashes its <c>drill-record.json</c> holds.</summary>
public static class DrillRecordVerifier
{
    /// <summary>Verifies the run directory's evidence; throws <see cref="ReportException"/> when it has no readable record.</summary>
    public static DrillRecordVerification Verify(string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        var path = Path.Combine(runDirectory, DrillRecordWriter.JsonFile);
        if (!File.Exists(path))
        {
            throw new ReportException($"{path} does not exist: the run has no drill record. Build it with ./resilience report --run {runDirectory}.");
        }

        DrillRecord record;
        try
        {
            record = JsonSerializer.Deserialize<DrillRecord>(File.ReadAllText(path), DrillRecord.Json)
                ?? throw new ReportException($"{path} is empty.");
        }
        catch (JsonException exception)
        {
            throw new ReportException($"{path} is not a readable drill record ({exception.Message}).", exception);
        }

        var problems = new List<string>();
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in record.Evidence)
        {
            recorded.Add(entry.Path);
            var file = Path.Combine(runDirectory, entry.Path);
            if (!File.Exists(file))
            {
                problems.Add($"missing: {entry.Path}");
                continue;
            }

            var actual = EvidenceHashes.Entry(runDirectory, file);
            if (!string.Equals(actual.Sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"modified: {entry.Path} (recorded sha256 {entry.Sha256}, now {actual.Sha256})");
            }
        }

        foreach (var file in EvidenceHashes.EvidencePaths(runDirectory))
        {
            var relative = EvidenceHashes.Relative(runDirectory, file);
            if (!recorded.Contains(relative))
            {
                problems.Add($"not in the record: {relative} (added after the record was written)");
            }
        }

        return new DrillRecordVerification(problems.Count == 0, record.Evidence.Count, problems);
    }
}
