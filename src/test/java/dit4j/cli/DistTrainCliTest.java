package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.io.PtReader;
import dit4j.train.RunDir;
import dit4j.train.TrainLog;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit train over several processes: the launcher, a lost worker, resuming at another world size. */
class DistTrainCliTest {
    @TempDir
    Path tmp;

    /** A worker JVM of {@code dit args...} with extra environment variables. */
    static Process spawn(Path log, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                "-cp", System.getProperty("java.class.path") + File.pathSeparator + System.getProperty("surefire.test.class.path", ""),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static String[] train(Path data, Path run, String... more) {
        return TrainCliTest.train(data, run, more);
    }

    @Test
    void twoWorkersTrainOneRunThatOneWorkerResumes() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 40, 8, 4, 1);
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("launcher.log");
        Process p = spawn(log, Map.of(), train(data, run, "--steps", "6", "--ckpt-every", "3", "--log-every", "2", "--nproc-per-node", "2"));
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the launcher did not finish");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("starting 2 workers of 2"), out);
        assertTrue(Files.exists(run.resolve("checkpoints/0000003.pt")) && Files.exists(run.resolve("checkpoints/0000006.pt")), out);
        String jsonl = Files.readString(run.resolve("log.jsonl"));
        assertTrue(jsonl.contains("\"step\":6,\"world_size\":2,\"replicas_digest\""), jsonl);
        assertEquals(3, dit4j.train.TrainLog.readLoss(run.resolve("log.jsonl")).size(), jsonl);

        Cli.Result r = Cli.run("train", "--resume", run.toString(), "--steps", "8");
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(run.resolve("checkpoints/0000008.pt")));
    }

    @Test
    void aKilledWorkerStopsTheOtherNamingItAndTheRunResumes() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 2);
        Path run = tmp.resolve("run");
        int port = freePort();
        Process[] w = new Process[2];
        for (int r = 0; r < 2; r++) {
            Map<String, String> env = Map.of("RANK", "" + r, "WORLD_SIZE", "2", "LOCAL_RANK", "" + r, "LOCAL_WORLD_SIZE", "2",
                    "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "" + port, "OPENBLAS_NUM_THREADS", "1");
            w[r] = spawn(tmp.resolve("rank" + r + ".log"), env, train(data, run, "--steps", "100000", "--ckpt-every", "2", "--log-every", "1", "--dist-timeout", "20"));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (TrainCliTest.checkpoints(run) < 2 && w[0].isAlive() && w[1].isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(w[0].isAlive() && w[1].isAlive(), "training ended early: " + Files.readString(tmp.resolve("rank0.log")) + Files.readString(tmp.resolve("rank1.log")));
        w[1].destroyForcibly();   // SIGKILL
        long killed = System.nanoTime();
        assertTrue(w[0].waitFor(30, TimeUnit.SECONDS), "rank 0 kept running after rank 1 was killed");
        double secs = (System.nanoTime() - killed) / 1e9;
        String out = Files.readString(tmp.resolve("rank0.log"));
        System.out.printf("rank 0 stopped %.1f s after rank 1 was killed: %s%n", secs, out.lines().filter(l -> l.contains("error")).findFirst().orElse(""));
        assertTrue(w[0].exitValue() != 0, out);
        assertTrue(out.contains("rank 0/2:") && out.contains("lost rank 1"), out);

        // Every checkpoint present is complete, and one worker carries the run on.
        Path latest = RunDir.of(run).latestCheckpoint().orElseThrow();
        assertTrue(((Map<?, ?>) PtReader.load(latest)).containsKey("train_state"), latest.toString());
        long step = Long.parseLong(latest.getFileName().toString().replace(".pt", ""));
        Cli.Result r = Cli.run("train", "--resume", run.toString(), "--steps", Long.toString(step + 2));
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(run.resolve(String.format("checkpoints/%07d.pt", step + 2))));
    }

    /** The launcher's worker whose environment has RANK=rank. */
    static ProcessHandle worker(Process launcher, int rank) throws IOException {
        for (ProcessHandle h : launcher.descendants().toList()) {
            Path environ = Path.of("/proc/" + h.pid() + "/environ");
            if (!Files.exists(environ)) continue;
            for (String kv : new String(Files.readAllBytes(environ)).split("\0")) if (kv.equals("RANK=" + rank)) return h;
        }
        throw new AssertionError("no worker with RANK=" + rank);
    }

    @Test
    void theLauncherNamesAKilledWorkerAndStopsTheOthers() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 3);
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("launcher.log");
        Process p = spawn(log, Map.of(), train(data, run, "--steps", "100000", "--ckpt-every", "2", "--log-every", "1", "--nproc-per-node", "2", "--dist-timeout", "20"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (TrainCliTest.checkpoints(run) < 1 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(p.isAlive(), "training ended early: " + Files.readString(log));
        ProcessHandle rank1 = worker(p, 1);
        rank1.destroyForcibly();
        assertTrue(p.waitFor(40, TimeUnit.SECONDS), "the launcher kept running after a worker was killed: " + Files.readString(log));
        String out = Files.readString(log);
        assertTrue(p.exitValue() != 0, out);
        assertTrue(out.contains("dit: worker rank 1 (local rank 1, pid " + rank1.pid() + ") failed first: exit code 137 (SIGKILL); stopping the others"), out);
        assertTrue(p.descendants().noneMatch(ProcessHandle::isAlive), "workers left running");
    }

    @Test
    void ctrlCReachesEveryWorkerWhichStopAtTheSameStepWithACheckpoint() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 4);
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("launcher.log");
        Process p = spawn(log, Map.of(), train(data, run, "--steps", "100000", "--ckpt-every", "100000", "--log-every", "1", "--nproc-per-node", "2"));
        Path jsonl = run.resolve("log.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while ((!Files.exists(jsonl) || Files.readString(jsonl).lines().count() < 2) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(p.isAlive(), "training ended early: " + Files.readString(log));
        new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher did not stop on SIGINT: " + Files.readString(log));
        String out = Files.readString(log);
        assertEquals(130, p.exitValue(), out);
        Path latest = RunDir.of(run).latestCheckpoint().orElseThrow(() -> new AssertionError("no checkpoint after Ctrl-C: " + out));
        assertTrue(((Map<?, ?>) PtReader.load(latest)).containsKey("train_state"));
        assertTrue(Files.readString(jsonl).contains("\"world_size\":2,\"replicas_digest\""), "the replicas were compared at the stop");
    }

    @Test
    void workersStopWhenTheirLauncherIsKilled() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 5);
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("launcher.log");
        Process p = spawn(log, Map.of(), train(data, run, "--steps", "100000", "--ckpt-every", "100000", "--log-every", "1", "--nproc-per-node", "2"));
        Path jsonl = run.resolve("log.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(jsonl) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(p.isAlive(), "training ended early: " + Files.readString(log));
        List<ProcessHandle> workers = p.descendants().toList();
        assertEquals(2, workers.stream().filter(h -> h.info().command().orElse("").endsWith("java")).count(), workers.toString());
        p.destroyForcibly();   // SIGKILL: the launcher cannot stop them itself
        long stop = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (workers.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < stop) Thread.sleep(100);
        assertTrue(workers.stream().noneMatch(ProcessHandle::isAlive), "workers outlived their launcher");
    }
}
