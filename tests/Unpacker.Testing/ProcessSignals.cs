using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Unpacker.Testing;

/// <summary>POSIX signals to a child process: a graceful stop, or freezing it so a test can look at a step under way.</summary>
public static partial class ProcessSignals
{
    public const int Sigterm = 15;
    public const int Sigcont = 18;
    public const int Sigstop = 19;

    /// <summary>Sends <paramref name="signal"/> unless the process has exited; a failure to send is an error naming the process.</summary>
    public static void Send(Process process, int signal)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!process.HasExited && Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"signal {signal} to pid {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
