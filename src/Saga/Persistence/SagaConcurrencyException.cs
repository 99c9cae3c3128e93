namespace Unpacker.Saga.Persistence;

/// <summary>
/// Another writer changed the saga (or the unpack's stream) between our load and our save. The one exception
/// type every Marten conflict is translated into, so that <c>UseMessageRetry</c> retries the message on a fresh load.
/// </summary>
public sealed class SagaConcurrencyException(string message, Exception inner) : Exception(message, inner);
