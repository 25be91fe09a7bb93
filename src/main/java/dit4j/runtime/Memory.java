package dit4j.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process, from /proc (Linux); -1 where unavailable. */
public final class Memory {
    private Memory() {}

    /** Current resident set size in bytes. */
    public static long rssBytes() {
        return statusKb("VmRSS:") * 1024;
    }

    /** Peak resident set size in bytes since the process started. */
    public static long peakRssBytes() {
        return statusKb("VmHWM:") * 1024;
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc unreadable
        }
        return -1;
    }
}
