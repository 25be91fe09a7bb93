package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.eval.InceptionTestWeights;
import dit4j.train.TrainEval;
import dit4j.train.TrainLog;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit train --eval-every: FID records in the log, fid.png, the same numbers as dit sample + dit eval, up-front flag errors. */
class TrainEvalCliTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Random-coloured 8x8 RGB PNGs: {@code n} per class sub-folder, or flat when classes is 0. */
    static Path images(Path dir, int classes, int n, long seed) throws Exception {
        Random rnd = new Random(seed);
        for (int k = 0; k < Math.max(1, classes); k++) {
            Path d = classes == 0 ? dir : dir.resolve("class" + k);
            Files.createDirectories(d);
            for (int i = 0; i < n; i++) {
                BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
                int base = rnd.nextInt(0xffffff);
                for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) img.setRGB(x, y, base ^ rnd.nextInt(0x404040) ^ (k * 0x700000));
                ImageIO.write(img, "png", d.resolve(String.format("%03d.png", i)).toFile());
            }
        }
        return dir;
    }

    static List<JsonNode> evalRecords(Path run) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("log.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals("eval")) out.add(n);
        }
        return out;
    }

    /** dit train of the tiny model on 8x8 images. */
    static String[] tiny(Path data, Path run, String... more) {
        List<String> a = new ArrayList<>(List.of(TrainCliTest.train(data, run, "--image-size", "8")));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static String[] train(Path data, Path run, Path ref, String... more) throws Exception {
        List<String> a = new ArrayList<>(List.of(tiny(data, run, "--steps", "4", "--ckpt-every", "2", "--log-every", "1",
                "--eval-every", "2", "--eval-samples", "4", "--eval-ref", ref.toString(), "--inception", InceptionTestWeights.file().toString())));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void evaluatesEveryNStepsAsDitSampleAndDitEvalWouldAndResumes() throws Exception {
        Path data = images(tmp.resolve("data"), 2, 8, 1);
        Path ref = images(tmp.resolve("ref"), 0, 6, 2);
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run(train(data, run, ref));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("eval: computing the reference statistics"), r.err());

        List<JsonNode> evals = evalRecords(run);
        assertEquals(List.of(2L, 4L), evals.stream().map(n -> n.path("step").asLong()).toList(), evals.toString());
        for (JsonNode n : evals) {
            assertTrue(Double.isFinite(n.path("fid").asDouble(Double.NaN)) && n.path("fid").asDouble() > 0, n.toString());
            assertTrue(Double.isFinite(n.path("inception_score").asDouble(Double.NaN)) && n.path("inception_score").asDouble() >= 1, n.toString());
            assertEquals(4, n.path("samples").asInt());
            assertEquals(6, n.path("reference").asInt());
            assertTrue(n.path("seconds").asDouble() > 0, n.toString());
            assertFalse(n.has("loss"), "an eval record is not a loss record");
        }
        // loss plotting sees the loss records only: one per step
        assertEquals(4, TrainLog.readLoss(run.resolve("log.jsonl")).size());
        assertEquals(2, TrainLog.readEval(run.resolve("log.jsonl"), "fid").size());
        BufferedImage plot = ImageIO.read(run.resolve("fid.png").toFile());
        assertNotNull(plot, "fid.png is a PNG");
        assertTrue(Files.exists(run.resolve(TrainEval.CACHE)));
        JsonNode args = JSON.readTree(run.resolve("args.json").toFile());
        assertEquals(2, args.path("eval_every").asLong());
        assertEquals(4, args.path("eval_samples").asInt());
        assertEquals(ref.toAbsolutePath().toString(), args.path("eval_ref").asText());
        assertEquals(InceptionTestWeights.file().toAbsolutePath().toString(), args.path("inception").asText());

        // The step-2 checkpoint's EMA, sampled as `dit sample` does (the recorded settings, seed 0, classes in turn), scored by `dit eval`.
        Path samples = tmp.resolve("samples2");
        Cli.Result s = Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000002.pt").toString(), "--labels", "0,1,0,1",
                "--seed", "0", "--out", samples.toString(), "--no-images");
        assertEquals(0, s.exit(), s.err());
        Cli.Result e = Cli.run("eval", samples.resolve("samples.npz").toString(), ref.toString(), "--inception", InceptionTestWeights.file().toString(), "--json");
        assertEquals(0, e.exit(), e.err());
        JsonNode want = JSON.readTree(e.out());
        JsonNode got = evals.get(0);
        assertEquals(want.path("fid").asDouble(), got.path("fid").asDouble(), 1e-9 * want.path("fid").asDouble(), "FID at step 2 = dit eval's");
        assertEquals(want.path("sfid").asDouble(), got.path("sfid").asDouble(), 1e-9 * want.path("sfid").asDouble(), "sFID at step 2");
        assertEquals(want.path("inception_score").asDouble(), got.path("inception_score").asDouble(), 1e-12, "IS at step 2");

        // Resume: earlier records stay, the reference comes from the cache, a new record at the new end.
        Cli.Result res = Cli.run("train", "--resume", run.toString(), "--steps", "5");
        assertEquals(0, res.exit(), res.err());
        assertTrue(res.err().contains("eval: reference statistics from"), res.err());
        List<JsonNode> after = evalRecords(run);
        assertEquals(List.of(2L, 4L, 5L), after.stream().map(n -> n.path("step").asLong()).toList(), after.toString());
        assertEquals(got.path("fid").asDouble(), after.get(0).path("fid").asDouble(), 0.0);
    }

    @Test
    void badEvalFlagsFailWithExit2BeforeARunFolderExists() throws Exception {
        Path data = images(tmp.resolve("data"), 2, 8, 1);
        Path ref = images(tmp.resolve("ref"), 0, 3, 2);
        Path w = InceptionTestWeights.file();
        Path run = tmp.resolve("run");
        Map<String, String[]> cases = new java.util.LinkedHashMap<>();
        cases.put("--eval-every needs --eval-ref", tiny(data, run, "--steps", "2", "--eval-every", "2", "--inception", w.toString()));
        cases.put("--eval-samples must be at least 2", tiny(data, run, "--steps", "2", "--eval-ref", ref.toString(), "--eval-samples", "1", "--inception", w.toString()));
        cases.put("no such .npz file or image folder", tiny(data, run, "--steps", "2", "--eval-ref", tmp.resolve("nope").toString(), "--inception", w.toString()));
        cases.put("no Inception weights; run `dit download inception` or give --inception FILE",
                tiny(data, run, "--steps", "2", "--eval-ref", ref.toString(), "--inception", tmp.resolve("missing.pth").toString()));
        cases.put("needs at least 2 images", tiny(data, run, "--steps", "2", "--eval-ref", images(tmp.resolve("one"), 0, 1, 3).toString(), "--inception", w.toString()));
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            Cli.Result r = Cli.run(c.getValue());
            assertEquals(2, r.exit(), c.getKey() + ": " + r.err());
            assertTrue(r.err().contains(c.getKey()), r.err());
            assertFalse(Files.exists(run), c.getKey() + ": no run folder");
        }
        assertTrue(Cli.run(tiny(data, run, "--steps", "2", "--eval-every", "2", "--inception", w.toString())).err().contains("--eval-ref"));
    }

    /**
     * Two workers share the samples (chunk c by rank c % 2, sampled with seed c): 60 samples are
     * one chunk of 50 and one of 10, and the FID equals one process's on the same step.
     */
    @Test
    void twoWorkersShareTheSamplesAndGiveOneProcesssFid() throws Exception {
        Path data = images(tmp.resolve("data"), 2, 8, 1);
        Path ref = images(tmp.resolve("ref"), 0, 6, 2);
        // EMA decay 1 keeps the EMA at the initial weights, which both runs share (seed 0, rank 0's broadcast).
        String[] common = {"--steps", "2", "--ema-decay", "1", "--ckpt-every", "2", "--log-every", "1", "--eval-samples", "60", "--eval-ref", ref.toString(),
                "--inception", InceptionTestWeights.file().toString()};
        Path one = tmp.resolve("one"), two = tmp.resolve("two");
        Cli.Result r = Cli.run(tiny(data, one, common));
        assertEquals(0, r.exit(), r.err());
        List<String> dist = new ArrayList<>(List.of(tiny(data, two, common)));
        dist.addAll(List.of("--nproc-per-node", "2"));
        Path log = tmp.resolve("launcher.log");
        Process p = DistTrainCliTest.spawn(log, Map.of(), dist.toArray(String[]::new));
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "the launcher did not finish");
        assertEquals(0, p.exitValue(), Files.readString(log));
        JsonNode a = evalRecords(one).get(0), b = evalRecords(two).get(0);
        assertEquals(1, a.path("world_size").asInt());
        assertEquals(2, b.path("world_size").asInt());
        assertEquals(2, b.path("step").asInt());
        assertEquals(a.path("fid").asDouble(), b.path("fid").asDouble(), 1e-6 * a.path("fid").asDouble(), a + " vs " + b);
        assertEquals(a.path("inception_score").asDouble(), b.path("inception_score").asDouble(), 1e-6, a + " vs " + b);
    }
}
