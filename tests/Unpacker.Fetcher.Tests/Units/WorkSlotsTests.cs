using Unpacker.Contracts;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Fetcher.Tests.Units;

/// <summary>A worker's slots list the work they hold for its heartbeats, and what ended a moment ago while its reply travels.</summary>
public sealed class WorkSlotsTests
{
    private readonly Clock _clock = new();

    [Fact]
    public void A_slot_lists_its_work_while_held_and_for_a_moment_after_it_is_released()
    {
        var slots = new WorkSlots(["fetch-blob"], capacity: 2, _clock);
        var unpack = Guid.NewGuid();
        var first = slots.Take("fetch-blob", [new WorkInProgress(unpack, 0, 1), new WorkInProgress(unpack, 1, 1)]);
        using var second = slots.Take("fetch-blob", [new WorkInProgress(unpack, 2, 4)]);
        Assert.Equal([new(unpack, 0, 1), new(unpack, 1, 1), new(unpack, 2, 4)], slots.InProgress().OrderBy(w => w.LayerIndex));

        // Released: still listed while its reply may be on its way to the saga, then no more.
        first.Dispose();
        _clock.Now += WorkSlots.ReplyGrace / 2;
        Assert.Equal(3, slots.InProgress().Count);
        _clock.Now += WorkSlots.ReplyGrace;
        Assert.Equal([new WorkInProgress(unpack, 2, 4)], slots.InProgress());
    }

    [Fact]
    public void A_slot_taken_without_work_lists_nothing()
    {
        var slots = new WorkSlots(["native"], capacity: 1, _clock);
        using var slot = slots.Take("native");
        Assert.Empty(slots.InProgress());
    }

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
