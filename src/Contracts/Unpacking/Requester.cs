namespace Unpacker.Contracts.Unpacking;

/// <summary>Who asked for an unpack, from where and with what client: the first line of every audit.</summary>
public sealed record Requester(string User, string Host, string Client);
