using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Unpacker.Hosting.Diagnostics;

/// <summary>
/// For tests only: named points where a process kills itself with SIGKILL, as a crash would. A test sets
/// <c>Faults:KillAt</c> to a point's name and <c>Faults:KillMarker</c> to a file; the first process of those sharing
/// the marker to reach the point creates the file and dies, every later one goes on. Unset, nothing ever happens.
/// </summary>
public sealed class CrashPoints(CrashPointOptions options, ILogger<CrashPoints> logger)
{
    public const string Section = "Faults";

    /// <summary>An Applier committed a snapshot (recorded in PostgreSQL) and has not replied to the saga yet.</summary>
    public const string AppliedNotReplied = "AppliedNotReplied";

    /// <summary>A Fetcher committed a blob (recorded in PostgreSQL) and has not replied to the saga yet.</summary>
    public const string FetchedNotReplied = "FetchedNotReplied";

    /// <summary>Kills this process if <paramref name="point"/> is the one configured and no process took the marker yet.</summary>
    public void Reached(string point)
    {
        if (options.KillAt.Length > 0 && string.Equals(options.KillAt, point, StringComparison.Ordinal))
        {
            KillOnce(options.KillMarker, point, logger);
        }
    }

    /// <summary>Takes <paramref name="marker"/> (created new) and kills this process; returns when another process took it first.</summary>
    public static void KillOnce(string marker, string point, ILogger logger)
    {
        if (marker.Length == 0)
        {
            throw new InvalidOperationException($"the fault point {point} needs a kill marker file, so that one process dies once");
        }

        try
        {
            using var taken = new FileStream(marker, FileMode.CreateNew, FileAccess.Write);
        }
        catch (IOException) when (File.Exists(marker))
        {
            return;
        }

        logger.LogCritical("Fault point {Point} reached: killing this process (SIGKILL)", point);
        Process.GetCurrentProcess().Kill();

        // Kill signals the process; wait for it to take effect rather than carry on past the fault point.
        Thread.Sleep(Timeout.Infinite);
    }
}

/// <summary>The <c>Faults</c> section: the point a test kills a process at, and the marker that makes it happen once.</summary>
public sealed class CrashPointOptions
{
    public string KillAt { get; set; } = "";

    public string KillMarker { get; set; } = "";
}
