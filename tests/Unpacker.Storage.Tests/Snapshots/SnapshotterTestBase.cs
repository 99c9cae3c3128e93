namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>A snapshot root and a metadata schema of the test class's own, made before each test and removed after.</summary>
public abstract class SnapshotterTestBase : IAsyncLifetime
{
    protected static readonly CancellationToken _none = CancellationToken.None;
    private SnapshotterTestContext? _context;

    protected SnapshotterTestContext Context => _context ?? throw new InvalidOperationException("not initialized");

    public virtual async Task InitializeAsync() => _context = await SnapshotterTestContext.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.DisposeAsync();
        }
    }
}
