namespace Unpacker.Hosting.Configuration;

/// <summary>Where RabbitMQ is. Defaults equal the local development values in the repository's <c>.env</c>.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    public string Host { get; set; } = "127.0.0.1";

    public ushort Port { get; set; } = 55672;

    public string VirtualHost { get; set; } = "unpacker";

    public string Username { get; set; } = "unpacker";

    public string Password { get; set; } = "unpacker-dev";
}
