package dit4j.runtime;

import java.io.File;
import java.io.IOException;
import java.util.List;
import org.bytedeco.javacpp.Loader;

/**
 * Puts every bundled native library into JavaCPP's cache before the first one is loaded.
 *
 * <p>JavaCPP extracts and loads the presets' libraries one at a time, in its preload order, which
 * loads {@code libtorch.so} before {@code libtorch_cpu.so} is extracted. The dynamic linker then
 * resolves {@code libtorch.so}'s dependency through its {@code $ORIGIN} run path, finds nothing
 * there yet, and falls back to the system's search path: on a machine with Debian's
 * {@code python3-torch} that is libtorch 1.13, and loading the bundled 2.10 beside it crashes the
 * JVM. With the whole folder extracted first, {@code $ORIGIN} always finds the bundled copy.
 */
public final class Natives {
    private Natives() {}

    /** The presets whose natives we ship; javacpp's own first, as JavaCPP loads them. */
    private static final List<String> PRESETS = List.of("javacpp", "openblas", "pytorch");

    private static volatile boolean ready;

    /** Extracts the natives (once per cache; a no-op when they are already there) and loads libtorch. */
    public static synchronized void load() {
        if (ready) return;
        String platform = Loader.getPlatform();
        try {
            for (String preset : PRESETS) {
                for (String suffix : List.of("", "-gpu")) {
                    File[] files = Loader.cacheResources("/org/bytedeco/" + preset + "/" + platform + suffix + "/");
                    if (files != null && files.length > 0) break;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not extract the native libraries into JavaCPP's cache (" + cacheDir() + "): " + e.getMessage(), e);
        }
        Loader.load(org.bytedeco.pytorch.global.torch.class);
        ready = true;
    }

    private static String cacheDir() {
        try {
            return Loader.getCacheDir().toString();
        } catch (IOException e) {
            return "~/.javacpp/cache";
        }
    }
}
