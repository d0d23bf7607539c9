namespace VoxGuard.Resilience.Reporting;

/// <summary>A report cannot be built: the message names what is wrong (a missing run, no scenarios in it) and the fix.</summary>
public sealed class ReportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReportException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    public ReportException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public ReportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
