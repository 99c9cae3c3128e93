namespace Unpacker.Contracts.Diagnostics;

/// <summary>Asks every running service to prove it can consume from RabbitMQ and write to PostgreSQL.</summary>
public sealed record PingRequested(Guid PingId, string RequestedBy, DateTimeOffset RequestedAt);
