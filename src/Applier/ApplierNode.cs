namespace Unpacker.Applier;

/// <summary>The node an Applier process works for, and the storage root on that node's disk where its snapshots live.</summary>
public sealed record ApplierNode(string Name, string Root);
