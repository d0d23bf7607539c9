namespace VoxGuard.Resilience.Topology.Tests.Support;

/// <summary>The repository checkout the tests run from: the folder holding VoxGuard.Resilience.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    public static string Environments => System.IO.Path.Combine(Path, "environments");

    private static string Find()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No VoxGuard.Resilience.sln above {TestContext.CurrentContext.TestDirectory}; run the tests from inside the repository checkout.");
    }
}
