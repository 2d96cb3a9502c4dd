// The executor's C# runner, the program's entry point (`mcs -main:_OssRunner`), run as
// `mono -O=-inline test.exe TESTS_CLASS` in a row's folder (see dataset_builder/execution/verdict.py).
//
// First thing in Main (only the runner's own static constructor, which does nothing, and the runtime's run
// before it: a row's static constructors run when the tests first touch its types), it reads the run's token from
// the inherited pipe OSS_VERDICT_IN with libc's read and closes it, subscribes to ProcessExit (first, so before any
// handler of the row). Debug.Assert and Trace.Assert fail: the program is compiled with DEBUG and TRACE and its
// only trace listener is the runner's, which throws. Then it calls the tests' Main by reflection and, once it
// returned (a Task awaited, an int 0) with no assertion failed, writes `done TOKEN -1` (plain C# tests are not
// countable) and leaves with libc's _exit(0): no ProcessExit handler or finalizer of the row runs. An exception out
// of the tests is caught here (an UnhandledException handler never sees it), printed as Mono would
// (`Unhandled Exception:` and the exception) and the runner leaves with status 1.
//
// The throwing listener is named in test.exe.config (written with the program), so the runtime reads its
// configuration only when an assertion fails, not on every run.
//
// Environment.Exit called by row code runs the ProcessExit handlers on the calling thread, the runner's first: it
// looks at the caller (inlining is off, so the frame above Environment.Exit is the method that called it). The
// tests' own class leaving with 0 chose to stop there (done; another status is a failed check, kept as is); any
// other caller means the tests never returned (`incomplete`). Either way the runner leaves there with _exit.

using System;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;

public static class _OssRunner
{
    [DllImport("libc", EntryPoint = "read")]
    private static extern IntPtr SysRead(int fd, byte[] buffer, IntPtr count);

    [DllImport("libc", EntryPoint = "write")]
    private static extern IntPtr SysWrite(int fd, byte[] buffer, IntPtr count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int SysClose(int fd);

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void SysExit(int status);

    private static string token;
    private static int output = -1;
    private static Type tests;
    private static readonly object Lock = new object();

    public static void Main(string[] args)
    {
        int input = int.Parse(Environment.GetEnvironmentVariable("OSS_VERDICT_IN"));
        output = int.Parse(Environment.GetEnvironmentVariable("OSS_VERDICT_OUT"));
        Environment.SetEnvironmentVariable("OSS_VERDICT_IN", null);
        Environment.SetEnvironmentVariable("OSS_VERDICT_OUT", null);
        var buffer = new byte[256];
        long length = (long) SysRead(input, buffer, new IntPtr(buffer.Length)); // one short line, written at once
        SysClose(input);
        token = Encoding.ASCII.GetString(buffer, 0, (int) Math.Max(0, length)).Trim();
        AppDomain.CurrentDomain.ProcessExit += Exiting;

        Say("phase loading");
        string name = args.Length > 0 ? args[0] : "";
        tests = name.Length > 0 ? typeof(_OssRunner).Assembly.GetType(name) : null;
        MethodInfo main = tests == null ? null : tests.GetMethod(
            "Main", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
        if (main == null)
        {
            Console.Error.WriteLine("[runner] the tests have no class " + (name.Length > 0 ? name : "?")
                                    + " with a static Main");
            Leave(2);
        }

        Say("phase testing");
        object returned = null;
        try
        {
            object[] parameters = main.GetParameters().Length == 0 ? null : new object[] { new string[0] };
            returned = main.Invoke(null, parameters);
            var task = returned as Task;
            if (task != null)
            {
                task.GetAwaiter().GetResult();
                var property = task.GetType().GetProperty("Result");
                returned = property != null && property.PropertyType == typeof(int) ? property.GetValue(task) : null;
            }
        }
        catch (TargetInvocationException e)
        {
            Uncaught(e.InnerException ?? e);
        }
        catch (Exception e) // the Task's exception, or the tests' type failing to initialize
        {
            Uncaught(e);
        }
        if (Throwing.Failures > 0)
        {
            Console.Error.WriteLine("[runner] Assertion failed: " + Throwing.Failures + " Debug/Trace.Assert check(s) "
                                    + "failed and the exception was caught");
            Leave(1);
        }
        if (ListenerRemoved())
        {
            Console.Error.WriteLine("[runner] the trace listener that makes Debug.Assert fail was removed");
            Leave(1, "incomplete " + token + " the trace listener that makes Debug.Assert fail was removed");
        }
        if (returned is int && (int) returned != 0)
        {
            Console.Error.WriteLine("[runner] the tests' Main returned " + returned);
            Leave((int) returned & 0xFF);
        }
        Leave(0, "done " + token + " -1");
    }

    /// <summary>Whether the row's code took the throwing listener out of Debug's and Trace's listeners. Reading
    /// Trace.Listeners loads the configuration (about 0.4 s), so the runner looks at the collection only when the
    /// row already made it.</summary>
    private static bool ListenerRemoved()
    {
        Type trace = typeof(Trace).Assembly.GetType("System.Diagnostics.TraceInternal");
        FieldInfo field = trace == null
            ? null
            : trace.GetField("listeners", BindingFlags.NonPublic | BindingFlags.Static);
        TraceListenerCollection listeners = field == null
            ? Trace.Listeners
            : (TraceListenerCollection) field.GetValue(null);
        if (listeners == null)
        {
            return false; // never made: every Debug.Assert held (a failed one makes them, with the listener)
        }
        foreach (TraceListener one in listeners)
        {
            if (one is Throwing)
            {
                return false;
            }
        }
        return true;
    }

    private static void Say(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (Lock)
        {
            SysWrite(output, bytes, new IntPtr(bytes.Length));
        }
    }

    private static void Leave(int status, string line = null)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (line != null)
        {
            Say(line);
        }
        SysExit(status);
    }

    private static bool IsTests(Type type)
    {
        for (; type != null; type = type.DeclaringType)
        {
            if (type == tests)
            {
                return true;
            }
        }
        return false;
    }

    private static void Uncaught(Exception e)
    {
        Console.Out.Flush();
        Console.Error.WriteLine();
        Console.Error.WriteLine("Unhandled Exception:");
        Console.Error.WriteLine(e);
        StackFrame first = new StackTrace(e).GetFrame(0);
        MethodBase thrower = first == null ? null : first.GetMethod();
        if (thrower != null && IsTests(thrower.DeclaringType))
        {
            Console.Error.WriteLine("[runner] a check in the tests failed (" + thrower.DeclaringType + "."
                                    + thrower.Name + ")");
        }
        Leave(1);
    }

    private static void Exiting(object sender, EventArgs e)
    {
        int status = Environment.ExitCode;
        StackFrame[] frames = new StackTrace().GetFrames() ?? new StackFrame[0];
        MethodBase caller = null;
        for (int i = 0; i + 1 < frames.Length; i++)
        {
            MethodBase method = frames[i].GetMethod();
            if (method != null && method.DeclaringType == typeof(Environment) && method.Name == "Exit")
            {
                caller = frames[i + 1].GetMethod();
                break;
            }
        }
        if (caller == null)
        {
            Leave(status == 0 ? 1 : status, "incomplete " + token + " the process ended before the tests returned");
        }
        string where = caller.DeclaringType + "." + caller.Name;
        if (IsTests(caller.DeclaringType))
        {
            if (status == 0)
            {
                Leave(0, "done " + token + " -1");
            }
            Console.Error.WriteLine("[runner] the tests exited with status " + status);
            Leave(status);
        }
        Console.Error.WriteLine("[runner] Environment.Exit(" + status + ") called from " + where
                                + " before the tests returned");
        Leave(status == 0 ? 1 : status, "incomplete " + token + " the solution called Environment.Exit(" + status
              + ") (from " + where + ") before the tests returned");
    }

    /// <summary>Debug.Assert and Trace.Assert fail by throwing (and are counted, in case the exception is
    /// caught); what Debug.Write and Trace.Write print goes to standard error.</summary>
    public sealed class Throwing : TraceListener
    {
        public static int Failures;

        public override void Fail(string message, string detail)
        {
            Failures++;
            string text = "Assertion failed" + (string.IsNullOrEmpty(message) ? "" : ": " + message)
                          + (string.IsNullOrEmpty(detail) ? "" : " " + detail);
            throw new AssertionFailedException(text);
        }

        public override void Write(string message)
        {
            Console.Error.Write(message);
        }

        public override void WriteLine(string message)
        {
            Console.Error.WriteLine(message);
        }
    }

    private sealed class AssertionFailedException : Exception
    {
        public AssertionFailedException(string message) : base(message)
        {
        }
    }
}
