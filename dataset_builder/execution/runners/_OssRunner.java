// The executor's Java runner: `java ... -cp . _OssRunner TESTS_CLASS TESTS_FILE` in a row's folder (see
// dataset_builder/execution/verdict.py).
//
// First thing in main (no row class is loaded before it: the JVM loads the tests' and the solution's classes only
// when the runner asks for them, so no row static initializer runs earlier; only the JDK's own run before), it
// reads the run's token from the inherited pipe OSS_VERDICT_IN through /proc/self/fd, which drains it (nothing more
// can be read there). Then it loads the tests' class, calls its main by reflection and, once main returned, writes
// `done TOKEN -1` (plain Java tests are not countable) and leaves with Runtime.halt(0): no shutdown hook of the
// solution runs. An exception out of the tests is caught here (an uncaught-exception handler never sees it),
// printed as the JVM would (`Exception in thread "main" ...`), and the runner halts with status 1.
//
// An exit of the JVM that is not the runner's never writes `done`: a solution's System.exit, from a static
// initializer or anywhere, is `tests_incomplete` whatever its status or its shutdown hooks make of it. The tests
// may end with System.exit themselves: the executor replaces `System.exit(` in the tests' file (only there) by
// `_OssRunner.exit(`, which accepts a caller compiled from the tests' file only (a solution calling it is not the
// tests leaving).

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

public final class _OssRunner {
    private static String token;
    private static FileOutputStream out;
    private static String tests;
    private static String testsFile;

    private _OssRunner() {}

    public static void main(String[] args) throws IOException {
        try (FileInputStream in = new FileInputStream("/proc/self/fd/" + System.getenv("OSS_VERDICT_IN"))) {
            byte[] buffer = new byte[256]; // not readAllBytes: it seeks, which a pipe refuses
            int length = 0;
            for (int n; length < buffer.length && (n = in.read(buffer, length, buffer.length - length)) > 0; ) {
                length += n;
            }
            token = new String(buffer, 0, length, StandardCharsets.US_ASCII).trim();
        }
        out = new FileOutputStream("/proc/self/fd/" + System.getenv("OSS_VERDICT_OUT"));
        tests = args.length > 0 ? args[0] : "";
        testsFile = args.length > 1 ? args[1] : "";

        say("phase loading");
        Method main;
        try {
            Class<?> testsClass = Class.forName(tests, false, _OssRunner.class.getClassLoader());
            main = testsClass.getDeclaredMethod("main", String[].class);
            if (!Modifier.isStatic(main.getModifiers())) {
                throw new NoSuchMethodException(tests + ".main is not static");
            }
            main.setAccessible(true);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            System.err.println("[runner] the tests have no class " + tests + " with static void main(String[] args): "
                    + e);
            leave(2, null);
            return;
        }

        say("phase testing");
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 2, args.length));
        } catch (InvocationTargetException e) {
            uncaught(e.getCause());
        } catch (Throwable e) { // an error while initializing the tests' class comes here (ExceptionInInitializer)
            uncaught(e);
        }
        leave(0, "done " + token + " -1");
    }

    /** System.exit in the tests' file: the tests leaving with 0 chose to stop there; any other status failed. */
    public static void exit(int status) {
        StackWalker.StackFrame caller = StackWalker.getInstance()
                .walk(frames -> frames.skip(1).findFirst()).orElse(null);
        String file = caller == null ? null : caller.getFileName();
        if (!testsFile.equals(file)) {
            String where = caller == null ? "?" : caller.getClassName();
            System.err.println("[runner] _OssRunner.exit(" + status + ") called from " + where + ", not the tests");
            leave(1, "incomplete " + token + " the solution (" + where + ") called the runner's exit");
        }
        if (status == 0) {
            leave(0, "done " + token + " -1");
        }
        System.err.println("[runner] the tests exited with status " + status);
        leave(status, null);
    }

    private static synchronized void say(String line) {
        try {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            System.err.println("[runner] cannot write to the verdict channel: " + e);
        }
    }

    private static void leave(int status, String line) {
        System.out.flush();
        System.err.flush();
        if (line != null) {
            say(line);
        }
        Runtime.getRuntime().halt(status);
    }

    private static void uncaught(Throwable e) {
        StackTraceElement[] frames = e.getStackTrace();
        int last = frames.length - 1;
        while (last >= 0 && !frames[last].getClassName().equals(tests)) {
            last--;
        }
        if (last >= 0) { // drop the runner's and reflection's frames below the tests' main
            e.setStackTrace(Arrays.copyOf(frames, last + 1));
        }
        System.out.flush();
        System.err.print("Exception in thread \"main\" ");
        e.printStackTrace();
        boolean crash = e instanceof Error && !(e instanceof AssertionError); // e.g. a solution's failed <clinit>
        if (!crash && frames.length > 0 && testsFile.equals(frames[0].getFileName())) {
            System.err.println("[runner] a check in the tests failed (" + frames[0] + ")");
        }
        leave(1, null);
    }
}
