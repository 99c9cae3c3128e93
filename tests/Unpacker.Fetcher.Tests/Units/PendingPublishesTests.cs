using Unpacker.Fetcher.Tests.Support;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Fetcher.Tests.Units;

/// <summary>Replies published while a consumer works (a fetch group's, an apply run's): confirmed together, never lost from sight.</summary>
public sealed class PendingPublishesTests
{
    [Fact]
    public async Task A_refused_reply_faults_the_confirmation_of_all()
    {
        var pending = new PendingPublishes();
        pending.Add(Task.CompletedTask);
        pending.Add(Task.FromException(new InvalidOperationException("the broker refused the reply")));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(pending.ConfirmedAsync);

        Assert.Equal("the broker refused the reply", error.Message);
    }

    [Fact]
    public async Task After_a_failure_of_its_own_a_refused_reply_is_logged_and_does_not_replace_that_failure()
    {
        using var logs = new CapturedLogs();
        var pending = new PendingPublishes();
        pending.Add(Task.FromException(new InvalidOperationException("the broker refused the reply")));
        pending.Add(Task.CompletedTask);

        await pending.SettleAfterFailureAsync(new OperationCanceledException(), logs.CreateLogger("fetch"), "fetch group 1/0");

        var line = Assert.Single(logs.Lines);
        Assert.StartsWith("Warning fetch A reply of fetch group 1/0 was not confirmed after it failed with OperationCanceledException", line, StringComparison.Ordinal);
        Assert.Contains("the broker refused the reply", line, StringComparison.Ordinal);
    }
}
