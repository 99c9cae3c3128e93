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

    /// <summary>
    /// How the queues of work (resolve, fetch, label, apply, saga) are declared: classic (the local default) or quorum,
    /// replicated across a RabbitMQ cluster for production. A queue keeps its type once declared: switching an existing
    /// installation means draining and deleting those queues first (RabbitMQ refuses a redeclaration of another type).
    /// </summary>
    public RabbitMqQueueType QueueType { get; set; } = RabbitMqQueueType.Classic;

    /// <summary>The management plugin's HTTP port on the same host: <c>unpacker errors</c> lists and reads error queues through it.</summary>
    public ushort ManagementPort { get; set; } = 55673;
}

/// <summary>RabbitMQ's queue types Unpacker declares its queues of work as.</summary>
public enum RabbitMqQueueType
{
    Classic,
    Quorum,
}
