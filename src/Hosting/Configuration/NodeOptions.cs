using System.Text;
using Unpacker.Contracts.Validation;

namespace Unpacker.Hosting.Configuration;

/// <summary>
/// The node a process belongs to: a host whose local disk holds snapshots (its storage root) and whose Appliers
/// serve its queues. Set <c>UNPACKER_NODE</c>; by default it is the host's name, so a one-host setup is one node.
/// </summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    public string Name { get; set; } = FromHostName(Environment.MachineName);

    /// <summary>The node name a host name makes: lower case, anything but letters, digits, '.', '_' and '-' turned into '-'.</summary>
    public static string FromHostName(string host)
    {
        var name = new StringBuilder(host.Length);
        foreach (var c in host.ToLowerInvariant())
        {
            var keep = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-';
            var next = keep ? c : '-';
            if (next is '.' or '_' or '-' && (name.Length == 0 || name[^1] is '.' or '_' or '-'))
            {
                continue;
            }

            name.Append(next);
        }

        var trimmed = name.ToString().TrimEnd('.', '_', '-');
        trimmed = trimmed.Length > 63 ? trimmed[..63].TrimEnd('.', '_', '-') : trimmed;
        return trimmed.Length == 0 ? "node" : trimmed;
    }

    /// <summary>The configured name, refused with a clear error when it cannot be part of a queue name.</summary>
    public string Validated() =>
        ValidationErrors.IsNodeName(Name)
            ? Name
            : throw new InvalidOperationException($"node name '{Name}' (UNPACKER_NODE) is not a node name: lowercase letters, digits, and '.', '_' or '-' between them, at most 63");
}
