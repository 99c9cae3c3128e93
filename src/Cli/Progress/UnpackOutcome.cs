using Unpacker.Saga.History;
namespace Unpacker.Cli.Progress;

/// <summary>How an ended unpack is told in one line, and the exit code it gives.</summary>
public static class UnpackOutcome
{
    public static int ExitCode(UnpackView view) => view.Status == UnpackStatus.Completed ? ExitCodes.Success : ExitCodes.Failed;

    /// <summary>The one line for stdout (completed) or stderr (failed, cancelled).</summary>
    public static string Describe(UnpackView view)
    {
        var elapsed = Units.Duration(view.Elapsed(view.EndedAt ?? DateTimeOffset.UtcNow));
        return view.Status switch
        {
            UnpackStatus.Completed =>
                $"unpack {view.UnpackId} completed in {elapsed}: {view.Layers.Count} layers ({view.LayersApplied} applied, {view.LayersSkipped} skipped) into {view.Snapshotter}; top chain ID {view.TopChainId}",
            UnpackStatus.Cancelled => $"unpacker: unpack {view.UnpackId} cancelled after {elapsed} at {Where(view)}: {view.FailureReason}",
            UnpackStatus.Failed => $"unpacker: unpack {view.UnpackId} failed after {elapsed} at {Where(view)}: {view.FailureReason}",
            _ => $"unpack {view.UnpackId} is {view.Status.ToString().ToLowerInvariant()}",
        };
    }

    /// <summary>Writes <see cref="Describe"/> where it belongs: stdout for success, stderr otherwise.</summary>
    public static void Write(UnpackView view)
    {
        if (view.Status == UnpackStatus.Completed)
        {
            Console.WriteLine(Describe(view));
        }
        else
        {
            Console.Error.WriteLine(Describe(view));
        }
    }

    private static string Where(UnpackView view) => view.FailedLayer is { } layer ? $"{view.FailedStep} of layer {layer}" : view.FailedStep ?? "an unknown step";
}
