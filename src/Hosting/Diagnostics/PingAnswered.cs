namespace Unpacker.Hosting.Diagnostics;

/// <summary>Recorded in the ping's stream by each service that consumed a <c>PingRequested</c>.</summary>
public sealed record PingAnswered(Guid PingId, string Service, string WorkerId, string Host, DateTimeOffset AnsweredAt);
