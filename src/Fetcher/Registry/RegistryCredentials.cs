using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Unpacker.Fetcher.Configuration;

namespace Unpacker.Fetcher.Registry;

/// <summary>A user name and secret for one registry host. <see cref="IsIdentityToken"/>: the secret is an OAuth2 refresh token.</summary>
public sealed record Credential(string Username, string Secret, bool IsIdentityToken = false)
{
    // Records print every member; a credential must never reach a log line.
    public override string ToString() => $"credential of {Username}";
}

/// <summary>Finds credentials per registry host: configuration first, then the <c>auths</c> of a Docker <c>config.json</c>.</summary>
public sealed class RegistryCredentials
{
    private const string DockerHubConfigKey = "https://index.docker.io/v1/";
    private readonly Dictionary<string, Credential> _byHost = new(StringComparer.OrdinalIgnoreCase);

    public RegistryCredentials(RegistryOptions options, ILogger<RegistryCredentials> logger)
    {
        var dockerConfig = options.DockerConfigPath ?? DefaultDockerConfigPath();
        if (dockerConfig is not null && File.Exists(dockerConfig))
        {
            foreach (var (host, credential) in ReadDockerConfig(dockerConfig))
            {
                _byHost[host] = credential;
            }

            logger.LogInformation("Read registry credentials for {Hosts} from {DockerConfig}", string.Join(' ', _byHost.Keys), dockerConfig);
        }

        foreach (var configured in options.Credentials)
        {
            _byHost[configured.Host] = new Credential(configured.Username, configured.Password);
        }
    }

    /// <summary>The credential for a host as written in references (<c>docker.io</c>, <c>host:port</c>); null for anonymous access.</summary>
    public Credential? Find(string host) => _byHost.GetValueOrDefault(host);

    /// <summary>Reads <c>auths</c>: <c>auth</c> (base64 of user:password), <c>username</c>/<c>password</c>, or <c>identitytoken</c>.</summary>
    public static IReadOnlyDictionary<string, Credential> ReadDockerConfig(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var result = new Dictionary<string, Credential>(StringComparer.OrdinalIgnoreCase);
        if (!document.RootElement.TryGetProperty("auths", out var auths) || auths.ValueKind != JsonValueKind.Object)
        {
            return result;
        }

        foreach (var entry in auths.EnumerateObject())
        {
            var credential = ReadEntry(entry.Value);
            if (credential is not null)
            {
                result[HostOfConfigKey(entry.Name)] = credential;
            }
        }

        return result;
    }

    private static Credential? ReadEntry(JsonElement entry)
    {
        string? Get(string name) => entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        var username = Get("username");
        var password = Get("password");
        if (Get("auth") is { Length: > 0 } auth)
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                username = decoded[..colon];
                password = decoded[(colon + 1)..];
            }
        }

        if (Get("identitytoken") is { Length: > 0 } identityToken)
        {
            return new Credential(username ?? string.Empty, identityToken, IsIdentityToken: true);
        }

        return username is { Length: > 0 } && password is not null ? new Credential(username, password) : null;
    }

    // Keys are hosts, or URLs for old entries (Docker Hub's is https://index.docker.io/v1/).
    private static string HostOfConfigKey(string key)
    {
        if (key == DockerHubConfigKey || key is "index.docker.io" or "registry-1.docker.io")
        {
            return ImageReference.DockerHub;
        }

        return Uri.TryCreate(key, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}"
            : key.TrimEnd('/');
    }

    private static string? DefaultDockerConfigPath()
    {
        var dir = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(dir))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            dir = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".docker");
        }

        return dir is null ? null : Path.Combine(dir, "config.json");
    }
}
