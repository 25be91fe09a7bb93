package dit4j.cli;

/** Turns exceptions into the one-line messages users see. */
public final class Errors {
    private Errors() {}

    public static String oneLine(Throwable e) {
        Throwable t = e;
        // Unwrap reflection and execution wrappers to the cause that says what went wrong.
        while ((t.getMessage() == null || t instanceof java.lang.reflect.InvocationTargetException) && t.getCause() != null) t = t.getCause();
        String m = t.getMessage();
        if (m == null) m = t.getClass().getSimpleName();
        if (t instanceof OutOfMemoryError) m = "out of memory: " + m;
        if (t instanceof java.nio.file.NoSuchFileException) m = "no such file: " + m;
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
