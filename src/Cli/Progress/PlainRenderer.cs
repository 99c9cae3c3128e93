using JasperFx.Events;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Progress;

/// <summary>For pipes and logs: a line whenever a layer changes state, then the tally and the outcome.</summary>
public sealed class PlainRenderer : UnpackRenderer
{
    public override void Recorded(UnpackView view, IEvent recorded, LayerView? changed)
    {
        if (recorded.Data is ImageResolutionRecorded resolved)
        {
            Console.WriteLine($"resolved {resolved.Reference}: config {resolved.ConfigDigest}, {resolved.LayerCount} layers, {resolved.Platform}, {Units.Bytes(resolved.CompressedSize)}");
        }

        if (changed is not null)
        {
            Console.WriteLine(LayerLine.Plain(changed));
        }
    }

    public override void Ended(UnpackView view)
    {
        Console.WriteLine(LayerLine.Tally(view));
        UnpackOutcome.Write(view);
    }
}
