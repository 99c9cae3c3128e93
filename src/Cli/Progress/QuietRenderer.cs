namespace Unpacker.Cli.Progress;

/// <summary><c>--quiet</c>: nothing while the unpack runs, one line at its end.</summary>
public sealed class QuietRenderer : UnpackRenderer
{
    public override void Ended(UnpackView view) => UnpackOutcome.Write(view);
}
