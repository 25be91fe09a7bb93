package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyCheckpoint;
import dit4j.io.Npz;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit sample --num-samples over worker processes: the bytes of one process, reruns after lost images and a killed worker. */
class DistSampleCliTest {
    @TempDir
    Path tmp;

    static String[] sample(Path out, int k, String steps, String... more) throws Exception {
        List<String> a = new ArrayList<>(List.of("sample", "--checkpoint", TinyCheckpoint.get().toString(), "--num-samples", Integer.toString(k),
                "--sampler", "ddpm", "--steps", steps, "--cfg-scale", "3", "--seed", "4", "--batch-size", "4", "--out", out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static int computedNow(String out) {
        Matcher m = Pattern.compile("(\\d+) images: (\\d+) computed now, (\\d+) already there").matcher(out);
        assertTrue(m.find(), out);
        return Integer.parseInt(m.group(2));
    }

    static Map<String, FileTime> pngs(Path dir) throws Exception {
        Map<String, FileTime> out = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("\\d{6}\\.png")).toList()) out.put(p.getFileName().toString(), Files.getLastModifiedTime(p));
        }
        return out;
    }

    @Test
    void twoWorkersWriteTheBytesOfOneProcessAndARerunMakesOnlyTheMissingImages() throws Exception {
        Path one = tmp.resolve("one"), two = tmp.resolve("two");
        Cli.Result r1 = Cli.run(sample(one, 20, "6"));
        assertEquals(0, r1.exit(), r1.err());
        assertEquals(20, computedNow(r1.out()));
        Path log = tmp.resolve("launcher.log");
        Process p = DistTrainCliTest.spawn(log, Map.of(), sample(two, 20, "6", "--nproc-per-node", "2"));
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the launcher did not finish");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        assertEquals(20, computedNow(out));
        assertTrue(out.contains("sampling 20 images over 2 workers"), out);
        for (int i = 0; i < 20; i++) {
            String name = String.format("%06d.png", i);
            assertArrayEquals(Files.readAllBytes(one.resolve(name)), Files.readAllBytes(two.resolve(name)), name);
        }
        assertArrayEquals(Files.readAllBytes(one.resolve("samples.npz")), Files.readAllBytes(two.resolve("samples.npz")));
        Map<String, Npz.Array> npz = Npz.read(two.resolve("samples.npz"));
        assertArrayEquals(new long[] {20, 8, 8, 1}, npz.get("arr_0").shape());
        assertEquals(Npz.INT64, npz.get("labels").dtype());

        // Lose four images: a rerun (one process) computes those four and touches nothing else.
        for (int i : new int[] {0, 5, 6, 19}) Files.delete(two.resolve(String.format("%06d.png", i)));
        Files.delete(two.resolve("samples.npz"));
        Map<String, FileTime> before = pngs(two);
        Cli.Result again = Cli.run(sample(two, 20, "6"));
        assertEquals(0, again.exit(), again.err());
        assertEquals(4, computedNow(again.out()));
        Map<String, FileTime> after = pngs(two);
        for (Map.Entry<String, FileTime> e : before.entrySet()) assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " was rewritten");
        assertArrayEquals(Files.readAllBytes(one.resolve("samples.npz")), Files.readAllBytes(two.resolve("samples.npz")));
    }

    @Test
    void afterAKilledWorkerTheRerunMakesWhatIsMissing() throws Exception {
        Path ref = tmp.resolve("ref"), out = tmp.resolve("out");
        int k = 24;
        Path log = tmp.resolve("launcher.log");
        Process p = DistTrainCliTest.spawn(log, Map.of(), sample(out, k, "40", "--nproc-per-node", "2", "--dist-timeout", "20"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (pngs(out.toFile().exists() ? out : tmp).size() < 4 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(p.isAlive(), "sampling ended before the kill: " + Files.readString(log));
        DistTrainCliTest.worker(p, 1).destroyForcibly();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher kept running after a worker was killed: " + Files.readString(log));
        assertTrue(p.exitValue() != 0, Files.readString(log));
        assertTrue(Files.readString(log).contains("failed first: exit code 137 (SIGKILL)"), Files.readString(log));
        int there = pngs(out).size();
        assertTrue(there > 0 && there < k, there + " images after the kill");
        Map<String, FileTime> before = pngs(out);
        Cli.Result again = Cli.run(sample(out, k, "40"));
        assertEquals(0, again.exit(), again.err());
        assertEquals(k - there, computedNow(again.out()));
        Map<String, FileTime> after = pngs(out);
        for (Map.Entry<String, FileTime> e : before.entrySet()) assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " was rewritten");
        // And what the interrupted run wrote is what an uninterrupted one writes.
        Cli.Result whole = Cli.run(sample(ref, k, "40"));
        assertEquals(0, whole.exit(), whole.err());
        assertArrayEquals(Files.readAllBytes(ref.resolve("samples.npz")), Files.readAllBytes(out.resolve("samples.npz")));
    }

    @Test
    void launchingWithoutACountIsRefused() throws Exception {
        Cli.Result r = Cli.run("sample", "--checkpoint", TinyCheckpoint.get().toString(), "--nproc-per-node", "2", "--out", tmp.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("needs --num-samples K"), r.err());
    }
}
