// The executor's Java runner: `java ... -Djava.security.manager=allow -cp . _OssRunner TESTS_CLASS` in a row's
// folder (see dataset_builder/execution/verdict.py).
//
// First thing in main (no row class is loaded before it: the JVM loads the tests' and the solution's classes only
// when the runner asks for them, so no row static initializer runs earlier), it reads the run's token from the
// inherited pipe OSS_VERDICT_IN through /proc/self/fd (draining it: the pipe then holds nothing more to read) and
// installs a security manager that lets row code do everything except replace it and leave the JVM on its own
// terms. Then it loads the tests' class, calls its main by reflection and, once main returned, writes
// `done TOKEN -1` (plain Java tests are not countable) and leaves with Runtime.halt(0): no shutdown hook of the
// solution runs, and an uncaught-exception handler never sees the tests' exception (the runner catches it and
// prints it as the JVM would, `Exception in thread "main" ...`, then halts with status 1).
//
// System.exit/Runtime.exit/halt called by row code reach the security manager first, which looks at the caller:
// the tests' own classes leaving with 0 chose to stop there (done; any other status is a failed check, kept as
// is), the solution leaving at any point means the tests never returned (`incomplete`). Either way the JVM halts
// there, so no shutdown hook can change the status.
//
// The window: static initializers of the JDK's own classes run before main; none is row code.

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.security.Permission;
import java.util.Arrays;

@SuppressWarnings("removal") // the security manager: deprecated in 17, still there with java.security.manager=allow
public final class _OssRunner {
    private _OssRunner() {}

    public static void main(String[] args) throws IOException {
        String token;
        try (FileInputStream in = new FileInputStream("/proc/self/fd/" + System.getenv("OSS_VERDICT_IN"))) {
            byte[] buffer = new byte[256]; // not readAllBytes: it seeks, which a pipe refuses
            int length = 0;
            for (int n; length < buffer.length && (n = in.read(buffer, length, buffer.length - length)) > 0; ) {
                length += n;
            }
            token = new String(buffer, 0, length, StandardCharsets.US_ASCII).trim();
        }
        FileOutputStream out = new FileOutputStream("/proc/self/fd/" + System.getenv("OSS_VERDICT_OUT"));
        String tests = args.length > 0 ? args[0] : "";
        if (!(System.getSecurityManager() instanceof Guard guard)) {
            System.err.println("[runner] run me with -Djava.security.manager=_OssRunner$Guard");
            Runtime.getRuntime().halt(2);
            return;
        }
        guard.start(token, out, tests, System.out, System.err);

        guard.say("phase loading");
        Method main;
        try {
            Class<?> testsClass = Class.forName(tests, false, _OssRunner.class.getClassLoader());
            main = testsClass.getDeclaredMethod("main", String[].class);
            if (!Modifier.isStatic(main.getModifiers())) {
                throw new NoSuchMethodException(tests + ".main is not static");
            }
            main.setAccessible(true);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            guard.err.println("[runner] the tests have no class " + tests + " with static void main(String[] args): "
                    + e);
            guard.leave(2);
            return;
        }

        guard.say("phase testing");
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            guard.uncaught(e.getCause());
        } catch (Throwable e) { // an error while initializing the tests' class comes here (ExceptionInInitializer)
            guard.uncaught(e);
        }
        guard.passed();
    }

    /**
     * Allows everything but replacing it; every exit of the JVM ends here. The JVM installs it before main. Its
     * methods are private (the runner reaches them as its nestmate): row code in the same package cannot call them.
     */
    public static final class Guard extends SecurityManager {
        private String token;
        private FileOutputStream out;
        private String tests;
        private PrintStream stdout;
        private PrintStream err;
        private volatile boolean leaving;

        /** Made by the JVM before main (-Djava.security.manager=_OssRunner$Guard). */
        public Guard() {}

        private synchronized void start(String token, FileOutputStream out, String tests, PrintStream stdout, PrintStream err) {
            if (this.token != null) {
                throw new SecurityException("the runner has started");
            }
            this.token = token;
            this.out = out;
            this.tests = tests;
            this.stdout = stdout;
            this.err = err;
        }

        private synchronized void say(String line) {
            try {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                err.println("[runner] cannot write to the verdict channel: " + e);
            }
        }

        private void leave(int status) {
            stdout.flush();
            err.flush();
            System.out.flush();
            System.err.flush();
            leaving = true;
            Runtime.getRuntime().halt(status);
        }

        private void passed() {
            leave(0, "done " + token + " -1");
        }

        private synchronized void leave(int status, String line) {
            System.out.flush();
            System.err.flush();
            say(line);
            leave(status);
        }

        private void uncaught(Throwable e) {
            StackTraceElement[] frames = e.getStackTrace();
            int last = frames.length - 1;
            while (last >= 0 && !frames[last].getClassName().equals(tests)) {
                last--;
            }
            if (last >= 0) { // drop the runner's and reflection's frames below the tests' main
                e.setStackTrace(Arrays.copyOf(frames, last + 1));
            }
            System.out.flush();
            err.print("Exception in thread \"main\" ");
            e.printStackTrace(err);
            boolean crash = e instanceof Error && !(e instanceof AssertionError); // e.g. a solution's failed <clinit>
            if (!crash && frames.length > 0 && isTests(frames[0].getClassName())) {
                err.println("[runner] a check in the tests failed (" + frames[0] + ")");
            }
            leave(1);
        }

        private boolean isTests(String name) {
            return name.equals(tests) || name.startsWith(tests + "$");
        }

        @Override
        public void checkPermission(Permission permission) {
            if (permission instanceof RuntimePermission && "setSecurityManager".equals(permission.getName())) {
                throw new SecurityException("the executor's runner keeps its security manager");
            }
        }

        @Override
        public void checkPermission(Permission permission, Object context) {
            checkPermission(permission);
        }

        @Override
        public void checkExit(int status) {
            if (leaving) {
                return; // the runner's own halt
            }
            String caller = caller();
            if (isTests(caller)) {
                if (status == 0) {
                    leave(0, "done " + token + " -1");
                }
                err.println("[runner] the tests exited with status " + status);
                leave(status);
            }
            err.println("[runner] System.exit(" + status + ") called from " + caller + " before the tests returned");
            leave(status == 0 ? 1 : status, "incomplete " + token + " the solution called System.exit("
                    + status + ") (from " + caller + ") before the tests returned");
        }

        /** The class that called System.exit, Runtime.exit or Runtime.halt. */
        private String caller() {
            for (Class<?> c : getClassContext()) {
                if (c != Guard.class && c != Runtime.class && c != System.class
                        && !c.getName().startsWith("java.lang.Shutdown")) {
                    return c.getName();
                }
            }
            return "?";
        }
    }
}
