namespace VoxGuard.Resilience.Reporting;

/// <summary>What every result of one run shares.</summary>
/// <param name="RunId">The run directory's name.</param>
/// <param name="Environment">The environment the scenarios ran against.</param>
/// <param name="Profile">The profile applied.</param>
/// <param name="Host">The machine the drill ran on.</param>
/// <param name="User">Who ran it.</param>
/// <param name="ScenariosDirectory">Where the scenarios' evidence files are.</param>
public sealed record ReportContext(string RunId, string Environment, string Profile, string Host, string User, string ScenariosDirectory);
