using System.Text.RegularExpressions;

namespace Unpacker.Audit.Tests;

/// <summary><c>unpacker timeline</c> as a process, its page rendered by headless Chromium.</summary>
[Collection(AuditCollection.Name)]
public sealed partial class TimelineCommandTests(AuditStack audit)
{
    /// <summary>An apply bar is 18 px tall (a fetch bar sits inside its row's band); a legend swatch is 12 px.</summary>
    private const int MinRowBand = 16;

    [Fact]
    public async Task The_timeline_page_is_self_contained_and_chromium_draws_one_row_per_layer_with_the_fetcher_and_applier_bars()
    {
        var directory = Directory.CreateTempSubdirectory("unpacker-timeline-");
        try
        {
            var page = Path.Combine(directory.FullName, "timeline.html");

            var result = await audit.CliAsync("timeline", audit.Unpacked.UnpackId.ToString(), "-o", page);

            Assert.True(result.ExitCode == 0, result.ToString());
            var html = await File.ReadAllTextAsync(page);
            Assert.DoesNotMatch(ExternalReference(), html);
            var colours = WorkerColour().Matches(html).ToDictionary(m => m.Groups[1].Value, m => Convert.FromHexString(m.Groups[2].Value));
            Assert.Contains("fetcher-0", colours.Keys);
            Assert.Contains("applier-1", colours.Keys);

            var png = Png.Read(await Chromium.ScreenshotAsync(page, 1400, 900));

            var rows = Bands(png, colours).Where(b => b.Height >= MinRowBand).ToList();
            Assert.Equal(AuditStack.LayerCount, rows.Count);
            Assert.All(rows, row => Assert.Superset(new HashSet<string> { "fetcher-0", "applier-1" }, row.Workers));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_timeline_of_an_unknown_unpack_fails_and_writes_nothing()
    {
        var page = Path.Combine(Path.GetTempPath(), $"unpacker-timeline-{Guid.NewGuid():N}.html");

        var result = await audit.CliAsync("timeline", Guid.NewGuid().ToString(), "-o", page);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no unpack", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(page));
    }

    /// <summary>Horizontal bands of the screenshot holding pixels of a worker's colour, with the workers seen in each.</summary>
    private static List<(int Top, int Height, HashSet<string> Workers)> Bands(Png png, Dictionary<string, byte[]> colours)
    {
        var bands = new List<(int Top, int Height, HashSet<string> Workers)>();
        (int Top, int Height, HashSet<string> Workers)? open = null;
        for (var y = 0; y < png.Height; y++)
        {
            var seen = new HashSet<string>();
            for (var x = 0; x < png.Width; x++)
            {
                var (r, g, b) = png[x, y];
                foreach (var (worker, c) in colours)
                {
                    if (Math.Abs(r - c[0]) <= 3 && Math.Abs(g - c[1]) <= 3 && Math.Abs(b - c[2]) <= 3)
                    {
                        seen.Add(worker);
                    }
                }
            }

            if (seen.Count > 0)
            {
                open = open is { } band ? (band.Top, band.Height + 1, [.. band.Workers, .. seen]) : (y, 1, seen);
            }
            else if (open is { } closed)
            {
                bands.Add(closed);
                open = null;
            }
        }

        if (open is { } last)
        {
            bands.Add(last);
        }

        return bands;
    }

    /// <summary>Anything a browser would fetch: scripts, styles, images, fonts (the SVG namespace URI is only a name).</summary>
    [GeneratedRegex(@"(src=|href=|url\(|@import|https?://(?!www\.w3\.org/2000/svg))", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    [GeneratedRegex("data-worker=\"([^\"]+)\" data-color=\"#([0-9a-f]{6})\"")]
    private static partial Regex WorkerColour();
}
