package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.io.PtReader;
import dit4j.train.RunDir;
import dit4j.train.TrainLog;
import dit4j.train.Trainer;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit train as a user runs it: kills, Ctrl-C, resume, bad images. */
class TrainCliTest {
    @TempDir
    Path tmp;

    static final String[] TINY_MODEL = {"--depth", "2", "--hidden-size", "32", "--heads", "2", "--patch", "2", "--global-batch-size", "8"};

    static String[] train(Path data, Path run, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data-path", data.toString(), "--run-dir", run.toString()));
        a.addAll(List.of(TINY_MODEL));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static long checkpoints(Path run) throws Exception {
        Path dir = run.resolve("checkpoints");
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d{7}\\.pt")).count();
        }
    }

    @Test
    void aRunKilledWithSigkillResumesFromItsLastCheckpoint() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 1);
        Path run = tmp.resolve("run");
        Process p = Cli.spawn(tmp.resolve("killed.log"), train(data, run, "--steps", "100000", "--ckpt-every", "2", "--log-every", "1"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (checkpoints(run) < 3 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(p.isAlive(), "training ended early: " + Files.readString(tmp.resolve("killed.log")));
        p.destroyForcibly(); // SIGKILL, most likely mid-step or mid-write
        p.waitFor(30, TimeUnit.SECONDS);

        // Every checkpoint present is complete.
        Path latest = RunDir.of(run).latestCheckpoint().orElseThrow();
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            for (Path ck : s.filter(f -> f.getFileName().toString().matches("\\d{7}\\.pt")).toList()) {
                assertTrue(((java.util.Map<?, ?>) PtReader.load(ck)).containsKey("train_state"), ck.toString());
            }
        }
        long step = Long.parseLong(latest.getFileName().toString().replace(".pt", ""));
        Cli.Result r = Cli.run("train", "--resume", run.toString(), "--steps", Long.toString(step + 3));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("resuming " + run.toAbsolutePath() + " from step " + step), r.err());
        assertEquals(run.resolve("checkpoints").resolve(String.format("%07d.pt", step + 3)).toAbsolutePath(), RunDir.of(run).latestCheckpoint().orElseThrow());
        // The log reads as one run: steps strictly increasing, ending at the new last step.
        List<double[]> log = TrainLog.readLoss(run.resolve("log.jsonl"));
        for (int i = 1; i < log.size(); i++) assertTrue(log.get(i)[0] > log.get(i - 1)[0], "log steps must increase");
        assertEquals(step + 3, (long) log.get(log.size() - 1)[0]);
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            assertTrue(s.noneMatch(f -> f.getFileName().toString().contains(".tmp-")), "stale temporaries are cleaned on resume");
        }
    }

    /** A long run in its own JVM, returned once it has logged three steps. */
    private Process longRunLogging(Path run, Path log) throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 64, 8, 4, 2);
        Process p = Cli.spawn(log, train(data, run, "--steps", "100000", "--ckpt-every", "100000", "--log-every", "1"));
        Path jsonl = run.resolve("log.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while ((!Files.exists(jsonl) || Files.readAllLines(jsonl).size() < 3) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        return p;
    }

    @Test
    void ctrlCSavesACheckpointAndExits130() throws Exception {
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("int.log");
        Process p = longRunLogging(run, log);
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not stop after SIGINT");
        assertEquals(130, p.exitValue(), Files.readString(log));
        assertEquals(1, checkpoints(run), "one checkpoint, written on interrupt");
        assertTrue(Files.readString(log).contains("interrupted: saving a checkpoint"));
    }

    @Test
    void sigtermSavesACheckpointAtTheStepItStoppedAndResumeContinues() throws Exception {
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("term.log");
        Process p = longRunLogging(run, log);
        Path jsonl = run.resolve("log.jsonl");
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not stop after SIGTERM");
        assertEquals(143, p.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("terminated: saving a checkpoint"), Files.readString(log));
        assertEquals(1, checkpoints(run), "one checkpoint, written on SIGTERM");
        Path ckpt = RunDir.of(run).latestCheckpoint().orElseThrow();
        long stopped = Long.parseLong(ckpt.getFileName().toString().replace(".pt", ""));
        List<double[]> logged = TrainLog.readLoss(jsonl);
        assertEquals(stopped, (long) logged.get(logged.size() - 1)[0], "the checkpoint is at the step the run stopped");
        Cli.Result r = Cli.run("train", "--resume", run.toString(), "--steps", Long.toString(stopped + 2));
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(run.resolve(String.format("checkpoints/%07d.pt", stopped + 2))));
    }

    @Test
    void aCorruptImageIsReportedWithItsPathOrSkippedOnRequest() throws Exception {
        Path root = tmp.resolve("folder");
        for (String cls : new String[] {"cat", "dog"}) {
            Files.createDirectories(root.resolve(cls));
            for (int i = 0; i < 8; i++) {
                BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR);
                img.setRGB(i % 8, 0, 0xff0000);
                ImageIO.write(img, "png", root.resolve(cls).resolve(i + ".png").toFile());
            }
        }
        Path bad = root.resolve("dog").resolve("broken.png");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5});
        Cli.Result r = Cli.run(train(root, tmp.resolve("run1"), "--image-size", "8", "--steps", "4"));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains(bad.toString()), r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("dit train: error")).count());

        Cli.Result ok = Cli.run(train(root, tmp.resolve("run2"), "--image-size", "8", "--steps", "2", "--skip-bad"));
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.err().contains(bad.toString()), "skipped files are listed: " + ok.err());
    }

    @Test
    void badFlagsGiveOneLineErrors() {
        Cli.Result r = Cli.run("train", "--data-path", tmp.resolve("nope").toString(), "--steps", "1");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains(tmp.resolve("nope").toString()), r.err());
        Cli.Result s = Cli.run("sample", "--checkpoint", tmp.resolve("missing.pt").toString());
        assertEquals(1, s.exit());
        assertTrue(s.err().contains("missing.pt"), s.err());
        Cli.Result m = Cli.run("info", "--model", "DiT-Q/3");
        assertEquals(2, m.exit(), "an unknown --model is bad usage");
        assertTrue(m.err().contains("unknown model 'DiT-Q/3'"), m.err());
    }

    @Test
    void plotNamesAMissingLogAndOneWithoutLossRecords() throws Exception {
        Path png = tmp.resolve("loss.png");
        Cli.Result missing = Cli.run("plot", tmp.resolve("no-run").toString(), "--out", png.toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no-run") && missing.err().contains("log.jsonl"), missing.err());
        Path log = tmp.resolve("other.jsonl");
        Files.writeString(log, "{\"step\":1}\n{\"event\":\"x\"}\n");
        Cli.Result noLoss = Cli.run("plot", log.toString(), "--out", png.toString());
        assertEquals(1, noLoss.exit());
        assertTrue(noLoss.err().contains("other.jsonl: no loss records"), noLoss.err());
        Files.writeString(log, "{\"step\":1,\"loss\":0.5}\n{\"step\":2,\"loss\":\"NaN\"}\n{\"step\":3,\"loss\":0.25}\n");
        assertEquals(3, TrainLog.readLoss(log).size());
        assertTrue(Double.isNaN(TrainLog.readLoss(log).get(1)[1]), "a NaN loss reads back as NaN");
        assertEquals(0, Cli.run("plot", log.toString(), "--out", png.toString()).exit());
        assertTrue(Files.size(png) > 0);
    }
}
