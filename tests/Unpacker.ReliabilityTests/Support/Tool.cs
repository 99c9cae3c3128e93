using System.Diagnostics;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>Runs a system tool (mount, a repository script) and fails with its output when it fails.</summary>
public static class Tool
{
    public static async Task<string> RunAsync(string tool, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(cts.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed with {process.ExitCode}: {(await errors).Trim()} {(await output).Trim()}");
        }

        return await output;
    }
}
