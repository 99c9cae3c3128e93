using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Validation;

namespace Unpacker.Contracts.Tests;

public sealed class ApplyRunTests
{
    private static readonly Digest[] _diffIds = [.. Enumerable.Range(0, 4).Select(i => Digest.Compute([(byte)i]))];
    private static readonly Digest[] _chainIds = [.. ChainId.Compute(_diffIds)];

    private static Descriptor Blob(int i) => new(MediaTypes.OciLayerGzip, Digest.Compute([(byte)(100 + i)]), 10 + i);

    private static ApplyLayer Run(int from, int count, bool rebase = false) =>
        new(Guid.NewGuid(), from, 2, "native", Blob(from), _diffIds[from], _chainIds[from], from == 0 ? null : _chainIds[from - 1], null, rebase)
        {
            Following = [.. Enumerable.Range(from + 1, count - 1).Select(i => new ChainedLayer(i, 2 + i, Blob(i), _diffIds[i], _chainIds[i]))],
        };

    [Fact]
    public void A_run_is_worked_as_one_command_per_layer_each_onto_the_layer_before_it()
    {
        var layers = Run(1, 3).Layers().ToList();

        Assert.Equal([1, 2, 3], layers.Select(l => l.LayerIndex));
        Assert.Equal([2, 4, 5], layers.Select(l => l.Attempt));
        Assert.Equal(_chainIds[1..4], layers.Select(l => l.ChainId));
        Assert.Equal(_diffIds[1..4], layers.Select(l => l.DiffId));
        Assert.Equal([_chainIds[0], _chainIds[1], _chainIds[2]], layers.Select(l => l.ParentChainId));
        Assert.Equal([Blob(1), Blob(2), Blob(3)], layers.Select(l => l.Layer));
        Assert.All(layers, l => Assert.Null(l.Following));
    }

    [Fact]
    public void A_following_layer_whose_blob_is_in_flight_is_worked_as_a_command_that_waits_for_its_blob()
    {
        var run = Run(0, 3);
        run = run with { Following = [run.Following![0], run.Following[1] with { BlobInFlight = true }] };

        Assert.Equal([false, false, true], run.Layers().Select(l => l.BlobInFlight));
    }

    [Fact]
    public void A_single_layer_command_is_a_run_of_one()
    {
        var command = Run(0, 1) with { Following = null };

        Assert.Equal([command], command.Layers());
        Assert.Empty(MessageValidator.Validate(command));
    }

    [Fact]
    public void A_well_formed_run_is_valid()
    {
        Assert.Empty(MessageValidator.Validate(Run(0, 4)));
    }

    [Fact]
    public void A_run_whose_layers_skip_an_index_is_rejected_naming_the_layer()
    {
        var command = Run(0, 3);
        command = command with { Following = [command.Following![0], command.Following[1] with { LayerIndex = 3 }] };

        var error = Assert.Single(MessageValidator.Validate(command));
        Assert.Contains("Following[1].LayerIndex", error, StringComparison.Ordinal);
        Assert.Contains("does not follow layer 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_asks_for_a_rebase_is_rejected()
    {
        var error = Assert.Single(MessageValidator.Validate(Run(0, 2, rebase: true)));
        Assert.Contains("an apply run cannot rebase", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stat_of_many_layers_is_valid_and_rejects_a_malformed_layer_naming_it()
    {
        var stat = new StatSnapshot(Guid.NewGuid(), 0, 1, "native", _chainIds[0]) { More = [new LayerStatRequest(1, 1, _chainIds[1]), new LayerStatRequest(2, 1, _chainIds[2])] };
        Assert.Empty(MessageValidator.Validate(stat));

        var error = Assert.Single(MessageValidator.Validate(stat with { More = [stat.More![0], stat.More[1] with { LayerIndex = -1 }] }));
        Assert.Contains("More[1].LayerIndex", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_layer_of_a_config_media_type_is_rejected()
    {
        var command = Run(0, 2);
        command = command with { Following = [command.Following![0] with { Layer = Blob(1) with { MediaType = MediaTypes.OciConfig } }] };

        var error = Assert.Single(MessageValidator.Validate(command));
        Assert.Contains("Following[0].Layer", error, StringComparison.Ordinal);
    }
}
