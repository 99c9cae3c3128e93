namespace Unpacker.Cli;

/// <summary>What scripts can rely on: 0 done, 1 the work failed, 2 the command line was wrong.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int Usage = 2;
}
