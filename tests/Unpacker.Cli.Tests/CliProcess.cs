using System.Collections.Concurrent;
using System.Diagnostics;
using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary>The built <c>unpacker</c> run as a process, as a user or a script runs it, with the environment of a test's stack.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _streamsOpen = 2;

    private CliProcess(Process process)
    {
        _process = process;
    }

    public IReadOnlyList<string> Stdout => [.. _stdout];

    public IReadOnlyList<string> Stderr => [.. _stderr];

    public int ExitCode => _process.ExitCode;

    /// <summary>Runs <c>unpacker <paramref name="args"/></c> to its end and returns it.</summary>
    public static async Task<CliProcess> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var cli = Start(environment, args);
        await cli.WaitAsync(TimeSpan.FromMinutes(3));
        return cli;
    }

    /// <summary>
    /// Runs <c>unpacker <paramref name="args"/></c> with a pseudo-terminal as its stdout and stderr (util-linux
    /// <c>script</c>), as a person at a terminal runs it.
    /// </summary>
    public static async Task<CliProcess> RunInTerminalAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var assembly = RepositoryPaths.ProjectOutput("Cli", "unpacker.dll");
        var command = string.Join(' ', new[] { "dotnet", assembly }.Concat(args).Select(a => $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'"));
        var cli = Start("script", ["-qfec", command, "/dev/null"], new Dictionary<string, string>(environment) { ["TERM"] = "xterm-256color", ["COLUMNS"] = "160" });
        await cli.WaitAsync(TimeSpan.FromMinutes(3));
        return cli;
    }

    /// <summary>Starts <c>unpacker <paramref name="args"/></c> and returns while it runs.</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), .. args], environment);

    private static CliProcess Start(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => cli.OnLine(cli._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => cli.OnLine(cli._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>Waits until the process exited and both its outputs are read to the end.</summary>
    public async Task WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout);
            await _process.WaitForExitAsync();
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"unpacker {string.Join(' ', _process.StartInfo.ArgumentList.Skip(1))} did not end within {timeout}:\n{Describe()}");
        }
    }

    /// <summary>Waits until a line of stdout matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (_stdout.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (_exited.Task.IsCompleted)
            {
                break;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no matching line on stdout:\n{Describe()}");
    }

    /// <summary>Everything the process wrote, for assertion messages.</summary>
    public string Describe() =>
        $"exit: {(_process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "running")}\nstdout:\n{string.Join('\n', _stdout)}\nstderr:\n{string.Join('\n', _stderr)}";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnLine(ConcurrentQueue<string> lines, string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
        else if (Interlocked.Decrement(ref _streamsOpen) == 0)
        {
            _exited.TrySetResult();
        }
    }
}
