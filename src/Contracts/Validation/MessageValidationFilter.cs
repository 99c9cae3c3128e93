using MassTransit;

namespace Unpacker.Contracts.Validation;

/// <summary>
/// The edge: a consume filter that checks each message against <see cref="MessageValidator"/> before any consumer or
/// saga sees it. An invalid message throws <see cref="MessageValidationException"/>, which no retry policy handles, so
/// it faults at once (the sender hears <c>Fault&lt;T&gt;</c>) and moves to the endpoint's error queue instead of
/// starting a saga that could never finish.
/// </summary>
public sealed class MessageValidationFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var errors = MessageValidator.Validate(context.Message);
        if (errors.Count > 0)
        {
            // No consumer or saga ran to report the fault, so the filter does: the sender hears Fault<T>, not only
            // a ReceiveFault without the message type.
            var invalid = new MessageValidationException(typeof(T).Name, errors);
            await context.NotifyFaulted(TimeSpan.Zero, "message-validation", invalid);
            throw invalid;
        }

        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("message-validation");
}
