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

    /// <summary>
    /// SIGSTOP, returning only once every thread of the process is stopped: a thread in the middle of a system call (a
    /// rename, say) finishes it first, so a look made before that could see a step that is no longer true when it acts.
    /// </summary>
    public static void Stop(Process process)
    {
        Send(process, Sigstop);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!process.HasExited && !AllThreadsStopped(process.Id))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"pid {process.Id} was sent SIGSTOP but its threads were still running after 10 s");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Whether every thread of <paramref name="pid"/> is in state T (stopped) or t (traced); false if one exits meanwhile.</summary>
    private static bool AllThreadsStopped(int pid)
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                // The state follows the ")" that ends the command name, which may itself contain spaces or parentheses.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (state is not ('T' or 't'))
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception exception) when (exception is DirectoryNotFoundException or FileNotFoundException)
        {
            return false; // a thread (or the process) went away between the listing and the read: look again
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
