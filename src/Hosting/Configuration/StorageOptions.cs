namespace Unpacker.Hosting.Configuration;

/// <summary>The filesystem root that holds content and snapshots, shared by every worker.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    public string Root { get; set; } = "/var/tmp/unpacker/data";
}
