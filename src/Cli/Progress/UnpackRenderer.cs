using JasperFx.Events;

namespace Unpacker.Cli.Progress;

/// <summary>
/// Shows an unpack as <see cref="UnpackFollower"/> learns about it: every recorded event, every byte sample, a
/// tick after each poll, and the end. Each output mode (live terminal, plain lines, JSON lines, quiet) overrides
/// what it needs.
/// </summary>
public abstract class UnpackRenderer
{
    /// <summary>Runs the follow loop inside whatever the renderer needs around it (a live terminal region).</summary>
    public virtual Task<T> RunAsync<T>(Func<Task<T>> follow) => follow();

    public virtual void Recorded(UnpackView view, IEvent recorded, LayerView? changed)
    {
    }

    public virtual void Progressed(UnpackView view, LayerView layer)
    {
    }

    public virtual void Tick(UnpackView view)
    {
    }

    /// <summary>The unpack ended (completed, failed or cancelled): say how, once.</summary>
    public abstract void Ended(UnpackView view);

    /// <summary>The follow stopped before the unpack ended (timeout, interrupt): say so, once.</summary>
    public virtual void Abandoned(UnpackView view, string message) => Console.Error.WriteLine($"unpacker: {message}");
}
