using Marten;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Claims;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Claims;

/// <summary>
/// An apply run's claims are read in one query (LoadMany): a claim read that way must still be version-checked when
/// written, or two unpacks claiming the same layers at once would both win.
/// </summary>
public sealed class ExtractionClaimVersionTests
{
    [Fact]
    public async Task A_claim_read_with_others_in_one_query_and_changed_meanwhile_by_another_unpack_is_not_overwritten()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_claims");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(schema.Postgres, UnpackSagaRegistration.MartenContribution);
        var ids = Enumerable.Range(0, 3).Select(i => $"native/sha256:{Guid.NewGuid():N}{i}").ToList();
        await using (var setup = store.LightweightSession())
        {
            setup.Store([.. ids.Select(id => new ExtractionClaim { Id = id, Owner = Guid.NewGuid(), LeaseUntil = DateTimeOffset.UtcNow })]);
            await setup.SaveChangesAsync();
        }

        await using var mine = store.LightweightSession();
        var read = (await mine.LoadManyAsync<ExtractionClaim>(ids)).ToDictionary(c => c.Id);
        await using (var theirs = store.LightweightSession())
        {
            var taken = await theirs.LoadAsync<ExtractionClaim>(ids[1]);
            taken!.Owner = Guid.NewGuid();
            theirs.Update(taken);
            await theirs.SaveChangesAsync();
        }

        var claim = read[ids[1]];
        claim.Owner = Guid.NewGuid();
        mine.Update(claim);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => mine.SaveChangesAsync());
        var conflicts = failure is AggregateException all ? all.InnerExceptions : [failure];
        Assert.Contains(conflicts, e => e is JasperFx.ConcurrencyException);
        await using var check = store.QuerySession();
        Assert.NotEqual(claim.Owner, (await check.LoadAsync<ExtractionClaim>(ids[1]))!.Owner);
    }
}
