namespace VoxGuard.Resilience.Reporting.Tests.Support;

internal static class Repository
{
    /// <summary>The repository's root (where VoxGuard.Resilience.sln is).</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new DirectoryNotFoundException("VoxGuard.Resilience.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
