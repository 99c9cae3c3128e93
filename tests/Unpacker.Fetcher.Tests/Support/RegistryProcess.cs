using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>A second docker-registry, protected by htpasswd (Basic auth), on a free loopback port for one test class.</summary>
public sealed class HtpasswdRegistry : RegistryProcess
{
    public const string Username = "fetcher-test";

    /// <summary>A password made per run, so a leak in logs would be found by searching for it.</summary>
    public string Password { get; } = $"pw-{Guid.NewGuid():N}";

    protected override async Task<string> ConfigureAsync(string directory)
    {
        var htpasswd = await RunAsync("htpasswd", ["-Bbn", Username, Password]);
        await File.WriteAllTextAsync(Path.Combine(directory, "htpasswd"), htpasswd);
        return $"""
            auth:
              htpasswd:
                realm: unpacker-test
                path: {directory}/htpasswd
            """;
    }
}

/// <summary>A docker-registry of the test's own that accepts foreign layers with http URLs (the shared one refuses them).</summary>
public sealed class ForeignUrlsRegistry : RegistryProcess
{
    protected override Task<string> ConfigureAsync(string directory) => Task.FromResult("""
        validation:
          manifests:
            urls:
              allow:
                - ^https?://
        """);
}

/// <summary>A docker-registry process on a free loopback port, started and killed by the test class that uses it.</summary>
public abstract class RegistryProcess : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"test-registry-{Guid.NewGuid():N}");
    private Process? _process;

    public string Host { get; private set; } = string.Empty;

    public Uri BaseUri => new($"http://{Host}");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var extra = await ConfigureAsync(_directory);
        var port = FreePort();
        Host = $"127.0.0.1:{port}";
        await File.WriteAllTextAsync(Path.Combine(_directory, "config.yml"), $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {_directory}/data
            http:
              addr: {Host}

            """ + extra);
        _process = Process.Start(new ProcessStartInfo(Tool("docker-registry"), ["serve", Path.Combine(_directory, "config.yml")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("docker-registry did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilUpAsync();
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Prepares files in the registry's directory and returns extra top-level configuration (YAML).</summary>
    protected abstract Task<string> ConfigureAsync(string directory);

    protected static async Task<string> RunAsync(string tool, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(Tool(tool), arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{tool} failed with {process.ExitCode}");
    }

    private async Task WaitUntilUpAsync()
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "/v2/"));
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && _process is { HasExited: false })
            {
                await Task.Delay(100);
                continue;
            }

            throw new InvalidOperationException($"the test registry at {Host} did not come up");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Tool(string name) =>
        new[] { "/usr/bin", "/usr/sbin", "/usr/local/bin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is missing; install it with 'apt-get install {(name == "htpasswd" ? "apache2-utils" : "docker-registry")}'");
}
