using Unpacker.Contracts.Applying;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_unpacks_share_a_layer
{
    [Fact]
    public async Task Should_extract_the_shared_base_once_and_let_the_other_unpack_wait_for_it()
    {
        // One blob per request and runs of fetched layers only, so the held base layer is applied on its own rather
        // than at the head of a run.
        await using var host = await UnpackSagaHost.StartAsync(o =>
        {
            o.FetchAheadBytes = 0;
            o.RunAheadOfFetches = false;
        });
        var first = TestImage.Create(layers: 2);
        var second = TestImage.Create(layers: 2, sharingBaseWith: first);
        var (firstId, secondId) = (Guid.NewGuid(), Guid.NewGuid());

        // The first unpack's base apply is slow: we answer it by hand once the second unpack waits for it.
        var held = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a =>
        {
            if (a.UnpackId == firstId && a.LayerIndex == 0 && held.TrySetResult(a))
            {
                return [];
            }

            return null;
        };

        await host.RequestAsync(firstId, first);
        var firstApply = await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.RequestAsync(secondId, second);
        var waiting = await host.WaitForSagaAsync(secondId, s => s.Layers.Count == 2 && s.Layers[0].Snapshot == SnapshotPhase.WaitingForOwner);
        Assert.Equal(firstId, waiting.Layers[0].WaitingFor);

        await using (var session = host.Store.QuerySession())
        {
            var claim = await session.LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(FakeNode.Name, "native", first.ChainIds[0]));
            Assert.Equal(firstId, claim!.Owner);
            Assert.Equal([secondId], claim.Waiters);
        }

        await host.PublishAsync(host.Workers.DefaultApply(firstApply)[0]);
        var firstDone = await host.CompletedAsync(firstId);
        var secondDone = await host.CompletedAsync(secondId);

        Assert.Equal((2, 0), (firstDone.LayersApplied, firstDone.LayersSkipped));
        Assert.Equal((1, 1), (secondDone.LayersApplied, secondDone.LayersSkipped));
        Assert.Single(host.Workers.Sent<ApplyLayer>(), a => a.ChainId == first.ChainIds[0]);
        var history = await host.HistoryAsync(secondId);
        Assert.Single(history.OfType<ExtractionAwaited>());
        Assert.Equal(0, Assert.Single(history.OfType<LayerSkipped>()).LayerIndex);

        await using var check = host.Store.QuerySession();
        Assert.Null(await check.LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(FakeNode.Name, "native", first.ChainIds[0])));
    }

    [Fact]
    public async Task Should_take_over_when_the_owner_fails()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var first = TestImage.Create(layers: 1);
        var second = TestImage.Create(layers: 1, sharingBaseWith: first);
        var (firstId, secondId) = (Guid.NewGuid(), Guid.NewGuid());
        var held = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a => a.UnpackId == firstId && held.TrySetResult(a) ? [] : null;

        await host.RequestAsync(firstId, first);
        var firstApply = await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.RequestAsync(secondId, second);
        await host.WaitForSagaAsync(secondId, s => s.Layers.Count == 1 && s.Layers[0].Snapshot == SnapshotPhase.WaitingForOwner);

        await host.PublishAsync(new LayerApplyFailed(firstId, 0, firstApply.Attempt, "native", firstApply.ChainId, Contracts.FailureKind.DiskFull,
            "no space left on device", false, TestImage.Applier));
        await host.FailedAsync(firstId);
        var secondDone = await host.CompletedAsync(secondId);

        Assert.Equal((1, 0), (secondDone.LayersApplied, secondDone.LayersSkipped));
        Assert.Equal([firstId, secondId], host.Workers.Sent<ApplyLayer>().Select(a => a.UnpackId));
    }

    [Fact]
    public async Task Should_look_again_after_a_short_while_when_the_owners_wake_up_is_lost()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var first = TestImage.Create(layers: 2);
        var second = TestImage.Create(layers: 2, sharingBaseWith: first);
        var (firstId, secondId) = (Guid.NewGuid(), Guid.NewGuid());
        var held = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a => a.UnpackId == firstId && a.LayerIndex == 0 && held.TrySetResult(a) ? [] : null;

        await host.RequestAsync(firstId, first);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.RequestAsync(secondId, second);
        await host.WaitForSagaAsync(secondId, s => s.Layers.Count == 2 && s.Layers[0].Snapshot == SnapshotPhase.WaitingForOwner);

        // The owner committed the base and released its claim, but the wake-up it published never arrived.
        host.Workers.Committed[first.ChainIds[0]] = true;
        await using (var session = host.Store.LightweightSession())
        {
            session.Delete<ExtractionClaim>(ExtractionClaim.KeyOf(FakeNode.Name, "native", first.ChainIds[0]));
            await session.SaveChangesAsync();
        }

        await host.AdvanceAndWakeAsync(host.Options.ClaimRecheckInterval + TimeSpan.FromSeconds(1));
        var secondDone = await host.CompletedAsync(secondId);

        Assert.Equal((1, 1), (secondDone.LayersApplied, secondDone.LayersSkipped));
        Assert.Single(host.Workers.Sent<ApplyLayer>(), a => a.ChainId == first.ChainIds[0]);
    }

    [Fact]
    public async Task Should_keep_a_hundred_waiters_quiet_while_the_owner_extracts_and_wake_them_all_at_its_release()
    {
        const int Waiters = 100;
        await using var host = await UnpackSagaHost.StartAsync(o =>
        {
            o.FetchAheadBytes = 0;
            o.RunAheadOfFetches = false;
        });
        var owner = TestImage.Create(layers: 1);
        var ownerId = Guid.NewGuid();
        var held = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a => a.UnpackId == ownerId && held.TrySetResult(a) ? [] : null;
        await host.RequestAsync(ownerId, owner);
        var ownerApply = await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var waiters = Enumerable.Range(0, Waiters).Select(_ => (Id: Guid.NewGuid(), Image: TestImage.Create(layers: 2, sharingBaseWith: owner))).ToList();
        await Task.WhenAll(waiters.Select(w => host.RequestAsync(w.Id, w.Image)));
        foreach (var waiter in waiters)
        {
            await host.WaitForSagaAsync(waiter.Id, s => s.Layers.Count == 2 && s.Layers[0].Snapshot == SnapshotPhase.WaitingForOwner);
        }

        var eventsWhenWaiting = new Dictionary<Guid, int>();
        foreach (var waiter in waiters)
        {
            eventsWhenWaiting[waiter.Id] = (await host.HistoryAsync(waiter.Id)).Count;
        }

        var statsWhenWaiting = host.Workers.Sent<StatSnapshot>().Count();

        // Three safety looks while the owner still extracts: each waiter is woken (and handles it), asks no worker and records nothing.
        for (var look = 1; look <= 3; look++)
        {
            Assert.Equal(Waiters, await host.AdvanceAndWakeAsync(host.Options.ClaimRecheckInterval + TimeSpan.FromSeconds(1)));
            var now = host.Clock.GetUtcNow();
            foreach (var waiter in waiters)
            {
                await host.WaitForSagaAsync(waiter.Id, s => s.WakeAt > now && s.Layers[0].Snapshot == SnapshotPhase.WaitingForOwner);
            }
        }

        Assert.Equal(statsWhenWaiting, host.Workers.Sent<StatSnapshot>().Count());
        foreach (var waiter in waiters)
        {
            Assert.Equal(eventsWhenWaiting[waiter.Id], (await host.HistoryAsync(waiter.Id)).Count);
        }

        // The owner commits: its release wakes every waiter, with the clock standing still (no safety look is due).
        await host.PublishAsync(host.Workers.DefaultApply(ownerApply)[0]);
        await host.CompletedAsync(ownerId);
        foreach (var waiter in waiters)
        {
            var done = await host.CompletedAsync(waiter.Id);
            Assert.Equal((1, 1), (done.LayersApplied, done.LayersSkipped));
            var history = await host.HistoryAsync(waiter.Id);
            Assert.Single(history.OfType<ExtractionAwaited>());
        }

        Assert.Single(host.Workers.Sent<ApplyLayer>(), a => a.ChainId == owner.ChainIds[0]);
    }
}
