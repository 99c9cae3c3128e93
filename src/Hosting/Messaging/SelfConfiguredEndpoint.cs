namespace Unpacker.Hosting.Messaging;

/// <summary>
/// Registered (as a singleton) by a part that configures retry and outbox of its endpoint itself, e.g. the saga,
/// whose retry policy must target its concurrency conflicts; the shared defaults then leave that endpoint alone.
/// </summary>
public sealed record SelfConfiguredEndpoint(string Name);
