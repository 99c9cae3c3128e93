using System.Diagnostics;

namespace Unpacker.Audit.Tests;

/// <summary>Debian's headless Chromium, run as root (hence no sandbox), to render a page to a PNG.</summary>
internal static class Chromium
{
    public static async Task<byte[]> ScreenshotAsync(string htmlFile, int width, int height)
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("chromium is not installed; run 'apt-get install chromium' (scripts/services.sh up installs it)");
        var work = Directory.CreateTempSubdirectory("unpacker-chromium-");
        try
        {
            var png = Path.Combine(work.FullName, "page.png");
            var info = new ProcessStartInfo(executable,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-color-profile=srgb", "--force-device-scale-factor=1",
                $"--user-data-dir={Path.Combine(work.FullName, "profile")}", $"--window-size={width},{height}", $"--screenshot={png}", new Uri(htmlFile).AbsoluteUri,
            ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(timeout.Token);
            return File.Exists(png)
                ? await File.ReadAllBytesAsync(png)
                : throw new InvalidOperationException($"chromium exited with {process.ExitCode} and wrote no screenshot:\n{await output}\n{await error}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
