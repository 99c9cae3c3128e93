using Marten.Exceptions;
using Npgsql;

namespace Unpacker.Saga.Persistence;

/// <summary>Recognizes the failures of a save that mean "someone else wrote first", and only those.</summary>
internal static class MartenConflicts
{
    private const string UniqueViolation = "23505";

    public static bool IsConflict(Exception exception) => exception switch
    {
        // Includes Marten's stream version conflicts (EventStreamUnexpectedMaxEventIdException derives from it).
        JasperFx.ConcurrencyException => true,
        Marten.Exceptions.ExistingStreamIdCollisionException => true,
        JasperFx.Events.ExistingStreamIdCollisionException => true,
        JasperFx.DocumentAlreadyExistsException => true,

        // Two transactions creating the same stream at once: the loser sees a unique violation wrapped by Marten.
        MartenCommandException { InnerException: PostgresException { SqlState: UniqueViolation } } => true,
        PostgresException { SqlState: UniqueViolation } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsConflict),
        _ => false,
    };

    /// <summary>Runs a save and rethrows a conflict as <see cref="SagaConcurrencyException"/>; everything else propagates unchanged.</summary>
    public static async Task SaveAsync(Func<Task> save, Guid correlationId, Type sagaType)
    {
        try
        {
            await save();
        }
        catch (Exception exception) when (IsConflict(exception))
        {
            throw new SagaConcurrencyException($"{sagaType.Name} {correlationId} was changed by another writer; the message will be retried", exception);
        }
    }
}
