namespace Unpacker.Observability.Tests;

/// <summary>The trace and metrics tests share one stack and run one after another, so a scrape's deltas are one unpack's.</summary>
[CollectionDefinition(Name)]
public sealed class ObservedStackCollection : ICollectionFixture<ObservedStack>
{
    public const string Name = "observed stack";
}
