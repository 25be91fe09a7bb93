package dit4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first run with an empty JavaCPP cache: it must load only the bundled libtorch, also where the
 * system has one (CI installs Debian's python3-torch, whose libtorch 1.13 crashed this before).
 */
class NativesTest {

    /** Run in a child JVM: loads the natives, computes, and prints every libtorch/libc10 it mapped. */
    public static void main(String[] args) throws Exception {
        Natives.load();
        System.out.println("sum " + torch.ones(3, 4).sum().item_float());
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash >= 0 && line.matches(".*/lib(torch|c10)[^/]*\\.so[^/]*$")) System.out.println("mapped " + line.substring(slash));
        }
    }

    @Test
    void aFirstRunWithAnEmptyCacheLoadsOnlyTheBundledLibtorch(@TempDir Path cache) throws Exception {
        Path log = cache.resolveSibling(cache.getFileName() + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dorg.bytedeco.javacpp.cachedir=" + cache, "-XX:ErrorFile=" + cache.resolveSibling("natives-test-crash-%p.log"),
                "-cp", System.getProperty("java.class.path") + File.pathSeparator + System.getProperty("surefire.test.class.path", ""),
                NativesTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the child JVM did not finish");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + out);
        assertTrue(out.contains("sum 12.0"), out);
        List<String> mapped = out.lines().filter(l -> l.startsWith("mapped ")).map(l -> l.substring(7)).toList();
        assertFalse(mapped.isEmpty(), "no libtorch mapped?\n" + out);
        Path real = cache.toRealPath();
        for (String lib : mapped) {
            assertTrue(lib.startsWith(cache.toString()) || lib.startsWith(real.toString()), "a libtorch from outside the bundled natives was loaded: " + lib);
        }
        if (Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so"))) System.err.println("NativesTest: ran with a system libtorch present");
    }
}
