using Microsoft.Extensions.Configuration;

namespace Unpacker.Hosting.Configuration;

/// <summary>
/// Maps the <c>UNPACKER_*</c> variables of the repository's <c>.env</c> onto configuration keys, so the
/// scripts, docker-compose, the services and the tests all read ports and credentials from one place.
/// </summary>
public static class UnpackerEnvironment
{
    public static IReadOnlyDictionary<string, string> VariableToKey { get; } = new Dictionary<string, string>
    {
        ["UNPACKER_POSTGRES_HOST"] = "Postgres:Host",
        ["UNPACKER_POSTGRES_PORT"] = "Postgres:Port",
        ["UNPACKER_POSTGRES_DB"] = "Postgres:Database",
        ["UNPACKER_POSTGRES_USER"] = "Postgres:Username",
        ["UNPACKER_POSTGRES_PASSWORD"] = "Postgres:Password",
        ["UNPACKER_POSTGRES_SCHEMA"] = "Postgres:Schema",
        ["UNPACKER_RABBITMQ_HOST"] = "RabbitMq:Host",
        ["UNPACKER_RABBITMQ_PORT"] = "RabbitMq:Port",
        ["UNPACKER_RABBITMQ_VHOST"] = "RabbitMq:VirtualHost",
        ["UNPACKER_RABBITMQ_USER"] = "RabbitMq:Username",
        ["UNPACKER_RABBITMQ_PASSWORD"] = "RabbitMq:Password",
        ["UNPACKER_RABBITMQ_MANAGEMENT_PORT"] = "RabbitMq:ManagementPort",
        ["UNPACKER_ROOT"] = "Storage:Root",
        ["UNPACKER_WORKER_ID"] = "Worker:Id",
        ["UNPACKER_NODE"] = "Node:Name",
        ["UNPACKER_CONTAINERD_SOCKET"] = "Applier:ContainerdSocket",
    };

    /// <summary>Adds the mapped variables that are set in the process environment, overriding earlier sources.</summary>
    public static IConfigurationBuilder AddUnpackerEnvironment(this IConfigurationBuilder builder)
    {
        var values = new Dictionary<string, string?>();
        foreach (var (variable, key) in VariableToKey)
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrEmpty(value))
            {
                values[key] = value;
            }
        }

        return builder.AddInMemoryCollection(values);
    }

    /// <summary>Reads the options the way a service does: defaults, then <c>UNPACKER_*</c> variables.</summary>
    public static IConfiguration FromProcessEnvironment() =>
        new ConfigurationBuilder().AddUnpackerEnvironment().Build();

    public static T Bind<T>(this IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }
}
