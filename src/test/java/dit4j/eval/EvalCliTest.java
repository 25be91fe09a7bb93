package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.cli.Main;
import dit4j.io.Npz;
import dit4j.io.PtWriter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `dit eval` end to end against pytorch-fid's fid_score on the same two folders and random weights (scripts/make_inception_vectors.py). */
class EvalCliTest {
    @TempDir
    static Path tmp;
    static Path weights, a, b;
    static JsonNode expected;

    record Run(int exit, String out, String err) {}

    static synchronized Run dit(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            return new Run(Main.run(args), out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        weights = InceptionTestWeights.file();
        a = TestFiles.resource("inception/inception_e2e/a");
        b = TestFiles.resource("inception/inception_e2e/b");
        expected = new ObjectMapper().readTree(TestFiles.resource("inception/inception_e2e.json").toFile());
    }

    static JsonNode json(String... args) throws Exception {
        Run r = dit(args);
        assertEquals(0, r.exit(), r.err());
        return new ObjectMapper().readTree(r.out().trim());
    }

    static void assertRel(double want, double got, double tol, String what) {
        assertTrue(Math.abs(got - want) <= tol * Math.abs(want), what + ": want " + want + ", got " + got);
    }

    /** The folder's PNGs as an .npz batch (arr_0 uint8 NHWC), stored or deflated. */
    static Path npz(Path folder, String name, boolean deflate) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.sorted().toList();
        }
        BufferedImage first = ImageIO.read(files.get(0).toFile());
        int h = first.getHeight(), w = first.getWidth();
        byte[] data = new byte[files.size() * h * w * 3];
        int o = 0;
        for (Path f : files) {
            BufferedImage img = ImageIO.read(f.toFile());
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                data[o++] = (byte) (rgb >> 16);
                data[o++] = (byte) (rgb >> 8);
                data[o++] = (byte) rgb;
            }
        }
        Path out = tmp.resolve(name);
        Map<String, Npz.Array> m = new LinkedHashMap<>();
        m.put("arr_0", Npz.Array.uint8(data, files.size(), h, w, 3));
        Npz.write(out, m);
        if (!deflate) return out;
        Path z = tmp.resolve("deflated-" + name);
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(z)); java.util.zip.ZipFile src = new java.util.zip.ZipFile(out.toFile())) {
            ZipEntry e = new ZipEntry("arr_0.npy");
            e.setMethod(ZipEntry.DEFLATED);
            zip.putNextEntry(e);
            src.getInputStream(src.getEntry("arr_0.npy")).transferTo(zip);
            zip.closeEntry();
        }
        return z;
    }

    private static JsonNode folders;

    /** The 2048-d run on the two folders, shared by the tests (each run costs two 2048-d eigendecompositions). */
    static synchronized JsonNode folders() throws Exception {
        if (folders == null) folders = json("eval", a.toString(), b.toString(), "--inception", weights.toString(), "--json", "--batch-size", "4");
        return folders;
    }

    @Test
    void fidMatchesPytorchFidOnTwoFolders() throws Exception {
        JsonNode r = folders();
        assertRel(expected.get("fid_2048").asDouble(), r.get("fid").asDouble(), 1e-3, "fid");
        assertEquals(6, r.get("samples").asInt());
        assertEquals(5, r.get("reference").asInt());
        for (String k : new String[] {"sfid", "inception_score", "inception_score_std", "precision", "recall"}) assertNotNull(r.get(k), k);
        assertTrue(r.get("inception_score").asDouble() >= 1.0);
        assertEquals(0.0, r.get("inception_score_std").asDouble(), 0.0, "one split");

        JsonNode r64 = json("eval", a.toString(), b.toString(), "--inception", weights.toString(), "--json", "--dims", "64");
        assertRel(expected.get("fid_64").asDouble(), r64.get("fid").asDouble(), 1e-3, "fid --dims 64");
    }

    @Test
    void npzBatchesStoredOrDeflatedGiveTheFolderResultAndStatsCanStandForTheReference() throws Exception {
        Path na = npz(a, "a.npz", false), nb = npz(b, "b.npz", true);
        Path stats = tmp.resolve("a-stats.npz");
        JsonNode batches = json("eval", na.toString(), nb.toString(), "--inception", weights.toString(), "--json", "--batch-size", "3", "--save-stats", stats.toString());
        for (String k : new String[] {"fid", "sfid", "inception_score", "precision", "recall"}) {
            assertRel(folders().get(k).asDouble(), batches.get(k).asDouble(), 1e-6, k);
        }
        Map<String, Npz.Array> saved = Npz.read(stats);
        assertEquals(List.of("mu", "sigma", "mu_s", "sigma_s"), List.copyOf(saved.keySet()));
        // FID and sFID are symmetric: b against a's saved statistics gives the same numbers.
        JsonNode vsStats = json("eval", nb.toString(), stats.toString(), "--inception", weights.toString(), "--json");
        assertRel(batches.get("fid").asDouble(), vsStats.get("fid").asDouble(), 1e-6, "fid against saved stats");
        assertRel(batches.get("sfid").asDouble(), vsStats.get("sfid").asDouble(), 1e-6, "sfid against saved stats");
        assertTrue(vsStats.get("precision").isNull(), "no precision without reference images");
    }

    static void assertFails(String what, String expectInMessage, String... args) {
        Run r = dit(args);
        assertEquals(1, r.exit(), what + ": " + r.out() + r.err());
        String err = r.err().trim();
        assertFalse(err.contains("\n"), what + ": one line: " + err);
        assertTrue(err.startsWith("dit eval: error: "), what + ": " + err);
        assertTrue(err.contains(expectInMessage), what + ": " + err);
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        Path wrongDtype = tmp.resolve("float.npz");
        Npz.write(wrongDtype, Map.of("arr_0", Npz.Array.float32(new float[2 * 4 * 4 * 3], 2, 4, 4, 3)));
        assertFails("float arr_0", "expected uint8 [N,H,W,3]", "eval", wrongDtype.toString(), b.toString(), "--inception", weights.toString());
        Path wrongShape = tmp.resolve("gray.npz");
        Npz.write(wrongShape, Map.of("arr_0", Npz.Array.uint8(new byte[2 * 4 * 4], 2, 4, 4)));
        assertFails("3-d arr_0", "expected uint8 [N,H,W,3]", "eval", wrongShape.toString(), b.toString(), "--inception", weights.toString());
        Path noArr = tmp.resolve("labels.npz");
        Npz.write(noArr, Map.of("labels", Npz.Array.int64(new long[] {1, 2}, 2)));
        assertFails("no arr_0", "has no 'arr_0'", "eval", noArr.toString(), b.toString(), "--inception", weights.toString());

        Path stats = tmp.resolve("stats-only.npz");
        Npz.write(stats, Map.of("mu", Npz.Array.float64(new double[4], 4), "sigma", Npz.Array.float64(new double[16], 4, 4)));
        assertFails("stats as samples", "statistics only", "eval", stats.toString(), b.toString(), "--inception", weights.toString());

        Map<String, Tensor> sd = new LinkedHashMap<>(InceptionV3.randomWeights(1));
        sd.remove("Mixed_6d.branch1x1.conv.weight");
        Path missing = tmp.resolve("missing-key.pth");
        PtWriter.save(missing, PtWriter.ordered(sd));
        assertFails("missing key", "missing key 'Mixed_6d.branch1x1.conv.weight'", "eval", a.toString(), b.toString(), "--inception", missing.toString());

        assertFails("no weights", "dit download inception", "eval", a.toString(), b.toString(), "--inception", tmp.resolve("nope.pth").toString());
    }

    @Test
    void verifyCommandPassesOnTheVectors() {
        Run r = dit("verify", "--inception", weights.toString(), "--vectors", TestFiles.resource("inception/inception.vectors.safetensors").toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
        // A vector file without Inception groups fails rather than passing vacuously.
        Run none = dit("verify", "--inception", weights.toString(), "--vectors", TestFiles.resource("inception/legacy.expected.safetensors").toString());
        assertEquals(1, none.exit(), none.out() + none.err());
        assertTrue(none.out().contains("no Inception group"), none.out());
    }
}
