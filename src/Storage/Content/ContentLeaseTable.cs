using Marten;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Unpacker.Storage.Content;

/// <summary>
/// The table of content leases (<see cref="ContentLock"/>): one row per ref or blob being written (and the collector's),
/// with its holder, when it runs out, and when another writer last wanted it. Part of the migrated schema.
/// </summary>
public static class ContentLeaseTable
{
    public const string TableName = "unpacker_content_leases";

    /// <summary>The table, for <c>StoreOptions.Storage.ExtendedSchemaObjects</c> of a store on <paramref name="schema"/>.</summary>
    public static Table Define(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("name").AsPrimaryKey();
        table.AddColumn<Guid>("owner").NotNull();
        table.AddColumn<DateTimeOffset>("expires_at").NotNull();
        table.AddColumn<DateTimeOffset>("contended_at");
        return table;
    }

    /// <summary>The table's qualified name in <paramref name="store"/>'s schema.</summary>
    public static string Name(IDocumentStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return $"{store.Options.DatabaseSchemaName}.{TableName}";
    }
}
