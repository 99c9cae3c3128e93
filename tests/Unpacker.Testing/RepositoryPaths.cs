namespace Unpacker.Testing;

/// <summary>Finds the repository (the folder holding Services.sln) and the build output of its projects.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> _root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Services.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Services.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => _root.Value;

    /// <summary>The configuration (Debug/Release) this test assembly was built in, used to find sibling outputs.</summary>
    public static string Configuration =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";

    /// <summary>The built assembly of a project under <c>src/</c>, e.g. <c>ProjectOutput("Fetcher", "Unpacker.Fetcher.dll")</c>.</summary>
    public static string ProjectOutput(string project, string assembly)
    {
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{assembly} is not built; run 'dotnet build Services.sln -c {Configuration}' first", path);
    }
}
