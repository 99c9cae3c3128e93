using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Registry;

/// <summary>
/// A parsed image reference, <c>[host[:port]/]path[:tag][@digest]</c>, normalized the way Docker does:
/// no host means Docker Hub (<c>docker.io</c>), a one-component Hub path gains <c>library/</c>, no tag and no digest means <c>latest</c>.
/// </summary>
public sealed partial record ImageReference(string Domain, string Repository, string? Tag, Digest? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>The object to resolve: the digest when given (it wins over the tag), else the tag.</summary>
    public string Object => Digest?.ToString() ?? Tag ?? "latest";

    /// <summary>Parses a reference; <see cref="FormatException"/> names what is wrong with it.</summary>
    public static ImageReference Parse(string reference) =>
        TryParse(reference, out var parsed, out var error)
            ? parsed
            : throw new FormatException($"invalid image reference '{reference}': {error}");

    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? parsed, out string error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(reference))
        {
            error = "empty";
            return false;
        }

        var rest = reference.Trim();
        Digest? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Contracts.Oci.Digest.TryParse(rest[(at + 1)..], out var parsedDigest, out var digestError))
            {
                error = $"bad digest: {digestError}";
                return false;
            }

            digest = parsedDigest;
            rest = rest[..at];
        }

        string? tag = null;
        var lastColon = rest.LastIndexOf(':');
        if (lastColon > rest.LastIndexOf('/'))
        {
            tag = rest[(lastColon + 1)..];
            rest = rest[..lastColon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"bad tag '{tag}'";
                return false;
            }
        }

        var domain = DockerHub;
        var slash = rest.IndexOf('/');
        if (slash > 0 && IsDomain(rest[..slash]))
        {
            domain = rest[..slash];
            rest = rest[(slash + 1)..];
        }

        if (domain is "index.docker.io" or "registry-1.docker.io")
        {
            domain = DockerHub;
        }

        if (domain == DockerHub && !rest.Contains('/', StringComparison.Ordinal))
        {
            rest = "library/" + rest;
        }

        if (!PathPattern().IsMatch(rest))
        {
            error = $"bad repository '{rest}' (lowercase letters, digits and separators . _ __ - between components)";
            return false;
        }

        parsed = new ImageReference(domain, rest, tag ?? (digest is null ? "latest" : null), digest);
        error = string.Empty;
        return true;
    }

    /// <summary>The canonical form, e.g. <c>docker.io/library/alpine:3.20@sha256:…</c>.</summary>
    public override string ToString() =>
        $"{Domain}/{Repository}{(Tag is null ? string.Empty : ":" + Tag)}{(Digest is null ? string.Empty : "@" + Digest)}";

    // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
    private static bool IsDomain(string component) =>
        component.Contains('.', StringComparison.Ordinal) || component.Contains(':', StringComparison.Ordinal) || component == "localhost"
        || (component.StartsWith('[') && component.Contains(']', StringComparison.Ordinal));

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();
}
