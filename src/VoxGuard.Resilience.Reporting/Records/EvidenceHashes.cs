using System.Security.Cryptography;

namespace VoxGuard.Resilience.Reporting.Records;

/// <summary>SHA-256 of evidence files, paths relative to the run directory.</summary>
public static class EvidenceHashes
{
    /// <summary>The folders of a run directory whose every file is evidence (besides <c>junit.xml</c>).</summary>
    public static IReadOnlyList<string> EvidenceFolders { get; } = ["scenarios", "charts"];

    /// <summary>The single files of a run directory that are evidence.</summary>
    public static IReadOnlyList<string> EvidenceFiles { get; } = ["junit.xml"];

    /// <summary>Every evidence file of the run directory, hashed, in path order.</summary>
    public static IReadOnlyList<DrillEvidenceEntry> Of(string runDirectory) =>
        [.. EvidencePaths(runDirectory).Select(path => Entry(runDirectory, path))];

    /// <summary>Every evidence file of the run directory (full paths).</summary>
    public static IEnumerable<string> EvidencePaths(string runDirectory)
    {
        var folders = EvidenceFolders.Select(folder => Path.Combine(runDirectory, folder)).Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories));
        var files = EvidenceFiles.Select(file => Path.Combine(runDirectory, file)).Where(File.Exists);
        return folders.Concat(files).OrderBy(path => Relative(runDirectory, path), StringComparer.Ordinal);
    }

    /// <summary>A file's entry.</summary>
    public static DrillEvidenceEntry Entry(string runDirectory, string path)
    {
        using var stream = File.OpenRead(path);
        return new DrillEvidenceEntry(Relative(runDirectory, path), stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    /// <summary>The path relative to the run directory with '/' separators.</summary>
    public static string Relative(string runDirectory, string path) => Path.GetRelativePath(runDirectory, path).Replace('\\', '/');
}
