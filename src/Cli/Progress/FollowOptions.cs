using System.CommandLine;

namespace Unpacker.Cli.Progress;

/// <summary>How a command that follows an unpack shows it: the flags <c>pull</c>, <c>unpack</c>, <c>import</c> and <c>wait</c> share.</summary>
public enum OutputMode
{
    /// <summary>Live region on a terminal, plain lines otherwise.</summary>
    Progress,
    Quiet,
    Json,
}

/// <summary>The output flags, declared once and added to each command.</summary>
public sealed class FollowOptions
{
    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "Print only the final result" };

    public Option<bool> Json { get; } = new("--json") { Description = "Write machine-readable events, one JSON object per line, ending with the outcome" };

    public Option<int> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds to follow the unpack before giving up (it goes on in the background)",
        DefaultValueFactory = _ => 3600,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Quiet);
        command.Options.Add(Json);
        command.Options.Add(Timeout);
        command.Validators.Add(result =>
        {
            if (result.GetValue(Quiet) && result.GetValue(Json))
            {
                result.AddError("--quiet and --json cannot be used together");
            }
        });
        Timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--timeout must be a positive number of seconds");
            }
        });
    }

    public OutputMode Mode(ParseResult parse) =>
        parse.GetValue(Json) ? OutputMode.Json : parse.GetValue(Quiet) ? OutputMode.Quiet : OutputMode.Progress;

    public TimeSpan TimeoutOf(ParseResult parse) => TimeSpan.FromSeconds(parse.GetValue(Timeout));

    /// <summary>The renderer for a mode: the live region only when stdout is a terminal.</summary>
    public static UnpackRenderer Renderer(OutputMode mode) => mode switch
    {
        OutputMode.Quiet => new QuietRenderer(),
        OutputMode.Json => new JsonRenderer(),
        _ when !Console.IsOutputRedirected && !Console.IsErrorRedirected => new LiveRenderer(),
        _ => new PlainRenderer(),
    };
}
