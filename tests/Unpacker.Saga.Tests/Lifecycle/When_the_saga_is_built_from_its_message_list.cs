using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Lifecycle;

public sealed class When_the_saga_is_built_from_its_message_list
{
    private static readonly UnpackStateMachine _machine = new(new UnpackActivities(new UnpackSagaOptions(), TimeProvider.System));

    [Fact]
    public void Should_list_each_message_type_once()
    {
        var types = UnpackMessages.All.Select(m => m.MessageType).ToList();

        Assert.Equal(types.Count, types.Distinct().Count());
        Assert.Contains(typeof(Fault<ApplyLayer>), types);
    }

    [Fact]
    public void Should_declare_one_event_per_listed_message()
    {
        foreach (var message in UnpackMessages.All)
        {
            var @event = _machine.Events.SingleOrDefault(e => e.Name == message.EventName);
            Assert.True(@event is not null, $"no event {message.EventName} for {message.MessageType.Name}");
        }
    }

    [Fact]
    public void Should_handle_or_ignore_every_listed_message_in_every_state_it_can_be_in()
    {
        foreach (var state in new[] { _machine.Resolving, _machine.Unpacking, _machine.Completed, _machine.Failed })
        {
            var known = _machine.NextEvents(state).Select(e => e.Name).ToHashSet();
            foreach (var message in UnpackMessages.All)
            {
                // MassTransit counts an ignored event among a state's next events too.
                Assert.True(known.Contains(message.EventName), $"{state.Name} neither handles nor ignores {message.EventName}");
            }
        }
    }

    [Fact]
    public void Should_name_its_states_as_the_queries_do()
    {
        Assert.Equal(
            [UnpackStates.Resolving, UnpackStates.Unpacking, UnpackStates.Completed, UnpackStates.Failed],
            new[] { _machine.Resolving, _machine.Unpacking, _machine.Completed, _machine.Failed }.Select(s => s.Name));
    }

}
