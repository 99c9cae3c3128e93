using System.Text.Json;
using System.Text.Json.Serialization;
using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Cli.Commands;

/// <summary>What the <c>content</c> and <c>gc</c> commands share: the stores opened from <c>UNPACKER_*</c>, JSON output, error reporting.</summary>
internal sealed class ContentCommandContext : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private ContentCommandContext(DocumentStore documents, ContentStore store, string root)
    {
        Documents = documents;
        Store = store;
        Root = root;
    }

    public DocumentStore Documents { get; }

    public ContentStore Store { get; }

    public string Root { get; }

    /// <summary>Runs <paramref name="action"/> against the configured stores; storage errors become a message and exit code 1.</summary>
    public static async Task<int> RunAsync(Func<ContentCommandContext, Task<int>> action)
    {
        var storage = CliSettings.Storage;
        try
        {
            var documents = await CliSettings.OpenStoreAsync();
            using var context = new ContentCommandContext(documents, new ContentStore(new ContentStoreOptions { Root = storage.Root }, documents), storage.Root);
            return await action(context);
        }
        catch (StorageException exception)
        {
            Console.Error.WriteLine($"unpacker: {exception.Message}");
            return ExitCodes.Failed;
        }
    }

    public static Digest ParseDigest(string text) =>
        Digest.TryParse(text, out var digest, out var error)
            ? digest
            : throw new InvalidArgumentException($"invalid digest '{text}': {error}");

    public static void WriteJson<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, Json));

    public void Dispose() => Documents.Dispose();
}
