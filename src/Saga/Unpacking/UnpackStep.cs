namespace Unpacker.Saga.Unpacking;

/// <summary>
/// The steps of an unpack, as the saga names them to people: in <c>UnpackFailed.Step</c>, in the history's
/// <c>StepRedriven.Step</c> and <c>UnpackFailureRecorded.Step</c>, where they are the lower-case words of
/// <see cref="UnpackSteps.Name"/> (recorded streams keep reading the same).
/// </summary>
public enum UnpackStep
{
    /// <summary>The request or the resolved image was checked and refused before any work.</summary>
    Validate,
    Resolve,
    Stat,
    Fetch,
    Apply,

    /// <summary>The snapshot prepare kept conflicting (containerd's "failed to prepare extraction snapshot").</summary>
    Prepare,
    Commit,
    Label,
}

public static class UnpackSteps
{
    /// <summary>The word recorded in events and messages for <paramref name="step"/>.</summary>
    public static string Name(this UnpackStep step) => step switch
    {
        UnpackStep.Validate => "validate",
        UnpackStep.Resolve => "resolve",
        UnpackStep.Stat => "stat",
        UnpackStep.Fetch => "fetch",
        UnpackStep.Apply => "apply",
        UnpackStep.Prepare => "prepare",
        UnpackStep.Commit => "commit",
        UnpackStep.Label => "label",
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "not a step of an unpack"),
    };

    /// <summary>The step a recorded word names; null for a word no step has.</summary>
    public static UnpackStep? Parse(string? name) =>
        Enum.GetValues<UnpackStep>().Where(s => s.Name() == name).Select(s => (UnpackStep?)s).FirstOrDefault();

    /// <summary>The worker pool a step's requests go to, as a failure message names it.</summary>
    public static string Pool(this UnpackStep step) => step switch
    {
        UnpackStep.Resolve or UnpackStep.Fetch or UnpackStep.Label => "the Fetcher pool",
        _ => "the Applier pool",
    };

    /// <summary>The worker that handles a step's requests, as a crash report names it.</summary>
    public static string Worker(this UnpackStep step) => step switch
    {
        UnpackStep.Resolve or UnpackStep.Fetch or UnpackStep.Label => "the Fetcher",
        _ => "the Applier",
    };
}
