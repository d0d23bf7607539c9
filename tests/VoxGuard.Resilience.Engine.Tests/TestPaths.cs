namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>Paths in the repository checkout the tests run from.</summary>
internal static class TestPaths
{
    /// <summary>The environments/ folder.</summary>
    public static string Environments { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return Path.Combine(directory.FullName, "environments");
            }
        }

        throw new InvalidOperationException("No VoxGuard.Resilience.sln above the test directory.");
    }
}
