using System.Runtime.InteropServices;

namespace Unpacker.Contracts.Oci;

/// <summary>An OCI platform (os/architecture/variant), normalized the way containerd's platforms package does.</summary>
public sealed record Platform(string Os, string Architecture, string? Variant = null)
{
    public string? OsVersion { get; init; }

    public IReadOnlyList<string>? OsFeatures { get; init; }

    /// <summary>The platform of the machine this runs on.</summary>
    public static Platform Host { get; } = Normalize(new Platform(
        "linux",
        RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "amd64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            System.Runtime.InteropServices.Architecture.Arm => "arm",
            System.Runtime.InteropServices.Architecture.X86 => "386",
            System.Runtime.InteropServices.Architecture.S390x => "s390x",
            System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
            System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
            var other => other.ToString().ToLowerInvariant(),
        }));

    /// <summary>Parses <c>os/arch[/variant]</c> or a bare architecture (os defaults to linux).</summary>
    public static Platform Parse(string specifier)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(specifier);
        var parts = specifier.Trim().ToLowerInvariant().Split('/');
        if (parts.Any(string.IsNullOrEmpty) || parts.Length > 3)
        {
            throw new FormatException($"invalid platform '{specifier}': expected os/architecture[/variant]");
        }

        var platform = parts.Length switch
        {
            1 => new Platform("linux", parts[0]),
            2 => new Platform(parts[0], parts[1]),
            _ => new Platform(parts[0], parts[1], parts[2]),
        };
        return Normalize(platform);
    }

    /// <summary>Applies the usual aliases and default variants (x86_64→amd64, aarch64→arm64, arm→v7, arm64→v8).</summary>
    public static Platform Normalize(Platform platform)
    {
        var os = platform.Os.ToLowerInvariant();
        var arch = platform.Architecture.ToLowerInvariant();
        var variant = platform.Variant?.ToLowerInvariant();
        switch (arch)
        {
            case "i386":
                arch = "386";
                variant = null;
                break;
            case "x86_64" or "x86-64" or "amd64":
                arch = "amd64";
                variant = variant == "v1" ? null : variant;
                break;
            case "aarch64" or "arm64":
                arch = "arm64";
                variant = variant is null or "8" or "v8" ? "v8" : variant;
                break;
            case "armhf":
                arch = "arm";
                variant = "v7";
                break;
            case "armel":
                arch = "arm";
                variant = "v6";
                break;
            case "arm":
                variant = variant switch
                {
                    null or "" or "7" => "v7",
                    "5" or "6" or "8" => "v" + variant,
                    _ => variant,
                };
                break;
        }

        return platform with { Os = os, Architecture = arch, Variant = string.IsNullOrEmpty(variant) ? null : variant };
    }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
