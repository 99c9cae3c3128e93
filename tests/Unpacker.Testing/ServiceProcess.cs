using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Unpacker.Testing;

/// <summary>A service (Fetcher, Applier, Saga) running as a separate process, as in production.</summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(string name, Process process, string? workerId, string? privateRoot)
    {
        Name = name;
        _process = process;
        WorkerId = workerId;
        PrivateRoot = privateRoot;
    }

    public string Name { get; }

    /// <summary>The <c>UNPACKER_WORKER_ID</c> it was started with (what its results and leases are stamped with), if any.</summary>
    public string? WorkerId { get; }

    public int ProcessId => _process.Id;

    /// <summary>The storage root only this process's mount namespace sees (a private tmpfs), if it was started isolated.</summary>
    public string? PrivateRoot { get; }

    public bool HasExited => _process.HasExited;

    public IEnumerable<string> Output => _output;

    /// <summary>Where the service listens (health, <c>/metrics</c>), as it logged when it started.</summary>
    public Uri? BaseAddress { get; private set; }

    /// <summary>
    /// Starts <c>src/&lt;project&gt;</c>'s built assembly and waits until it logs that it started. With
    /// <paramref name="privateRoot"/>, the process runs in a mount namespace of its own with an empty tmpfs mounted
    /// there: a simulated host whose disk no other process (nor the test) can see. It runs in
    /// <paramref name="workingDirectory"/>, by default its assembly's directory.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(
        string project, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, string? privateRoot = null, string? workingDirectory = null)
    {
        var assembly = RepositoryPaths.ProjectOutput(project, $"Unpacker.{project}.dll");
        if (privateRoot is not null)
        {
            Directory.CreateDirectory(privateRoot);
        }

        // unshare execs in place (no fork), and so does sh: the process id is the service's own, for signals and nsenter.
        (string File, string[] Arguments) command = privateRoot is null
            ? ("dotnet", [assembly])
            : ("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", "mount -t tmpfs -o size=2g,mode=0755 tmpfs \"$1\" && exec dotnet \"$2\"", "sh", privateRoot, assembly]);
        var info = new ProcessStartInfo(command.File, command.Arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(assembly)!,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var service = new ServiceProcess(project, process, environment?.GetValueOrDefault("UNPACKER_WORKER_ID"), privateRoot);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            // The lines saying why it stopped may still be on their way: WaitForExit() returns once both streams are read to their end.
            process.WaitForExit();
            service._started.TrySetException(new InvalidOperationException(
                $"{project} exited with {process.ExitCode} before it started:\n{string.Join('\n', service._output.TakeLast(40))}"));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await service._started.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return service;
    }

    /// <summary>Sends SIGTERM and returns the exit code once the process has stopped.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            ProcessSignals.Send(_process, ProcessSignals.Sigterm);
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
        }

        return _process.ExitCode;
    }

    /// <summary>kill -9: the crash a reliability test simulates.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGSTOP: the process makes no progress until <see cref="Thaw"/>, so a test can look at a step while it is under way.</summary>
    public void Freeze() => ProcessSignals.Stop(_process);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => ProcessSignals.Send(_process, ProcessSignals.Sigcont);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await StopAsync(TimeSpan.FromSeconds(15));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        if (line.Contains("started; health at", StringComparison.Ordinal))
        {
            if (ListeningAt().Match(line) is { Success: true } url)
            {
                BaseAddress = new Uri(url.Groups[1].Value);
            }

            _started.TrySetResult();
        }
    }

    [GeneratedRegex(@"health at (http://[^\s""]+)")]
    private static partial Regex ListeningAt();
}
