package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.TinyData;
import dit4j.io.Images;
import dit4j.io.Npz;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit sample and dit demo as a user runs them. */
class SampleCliTest {
    @TempDir
    Path tmp;

    @Test
    void sampleWritesGridImagesAndTheOfficialNpzLayout() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 32, 8, 4, 3);
        Path run = tmp.resolve("run");
        Cli.Result t = Cli.run(TrainCliTest.train(data, run, "--steps", "2"));
        assertEquals(0, t.exit(), t.err());
        Path out = tmp.resolve("samples");
        Cli.Result r = Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000002.pt").toString(), "--per-class", "2",
                "--sampler", "ddim", "--steps", "5", "--cfg-scale", "3", "--seed", "7", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        Map<String, Npz.Array> npz = Npz.read(out.resolve("samples.npz"));
        assertEquals("|u1", npz.get("arr_0").dtype());
        // IDX data counts at least the ten digit classes.
        assertArrayEquals(new long[] {20, 8, 8, 1}, npz.get("arr_0").shape());
        assertArrayEquals(new long[] {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9}, npz.get("labels").int64s());
        Map<String, String> text = Images.readPngText(out.resolve("images/000003.png"));
        assertEquals("1", text.get("dit4j.label"));
        assertTrue(text.get("parameters").contains("\"seed\":7") && text.get("parameters").contains("\"sampler\":\"ddim\""), text.toString());
        assertTrue(ImageIO.read(out.resolve("samples.png").toFile()).getHeight() >= 4 * 8);

        // The same seed gives the same images.
        Path again = tmp.resolve("again");
        Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000002.pt").toString(), "--per-class", "2",
                "--sampler", "ddim", "--steps", "5", "--cfg-scale", "3", "--seed", "7", "--out", again.toString(), "--no-images");
        assertArrayEquals(npz.get("arr_0").uint8s(), Npz.read(again.resolve("samples.npz")).get("arr_0").uint8s());
    }

    @Test
    void officialTrainCheckpointSamplesWithTheOfficialDefaults() throws Exception {
        Path out = tmp.resolve("official");
        // An official-style checkpoint with 4 input channels is a latent model: it needs a VAE to decode.
        Cli.Result noVae = Cli.run("sample", "--checkpoint", TestFiles.vectors("p2_linear.train.pt").toString(), "--num-heads", "2",
                "--labels", "1,9", "--steps", "4", "--out", out.toString());
        assertEquals(1, noVae.exit());
        assertTrue(noVae.err().contains("is a latent model: pass --vae DIR"), noVae.err());
        Cli.Result r = Cli.run("sample", "--checkpoint", TestFiles.vectors("p2_linear.train.pt").toString(), "--num-heads", "2",
                "--labels", "1,9", "--steps", "4", "--vae", TestFiles.resource("vae/vae_two_level").toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("ddpm 4 steps, guidance 4.00 on 3 channels"), r.err());
        assertArrayEquals(new long[] {2, 16, 16, 3}, Npz.read(out.resolve("samples.npz")).get("arr_0").shape());
        Cli.Result bad = Cli.run("sample", "--checkpoint", TestFiles.vectors("p2_linear.train.pt").toString(), "--num-heads", "2",
                "--labels", "10", "--out", out.toString());
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("class 10 is outside [0, 10)"), bad.err());
    }

    @Test
    void demoRunsEndToEndOnSmallData() throws Exception {
        Path data = TinyData.idx(tmp.resolve("fashion"), 64, 8, 4, 4);
        for (String kind : new String[] {"images-idx3", "labels-idx1"}) {
            byte[] raw = Files.readAllBytes(data.resolve("train-" + kind + "-ubyte"));
            for (String split : new String[] {"train", "t10k"}) {
                try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(data.resolve(split + "-" + kind + "-ubyte.gz")))) {
                    gz.write(raw);
                }
            }
            Files.delete(data.resolve("train-" + kind + "-ubyte"));
        }
        Path out = tmp.resolve("demo");
        Cli.Result r = Cli.run("demo", "--minutes", "0.15", "--data", data.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(out.resolve("samples.png")) && Files.exists(out.resolve("loss.png")), r.out());
        try (var s = Files.list(out.resolve("checkpoints"))) {
            assertTrue(s.anyMatch(p -> p.toString().endsWith(".pt")));
        }
        assertTrue(r.out().contains("samples:") && r.out().contains(out.resolve("samples.png").toString()), r.out());
        // the recipe's objective and sampler travel with the checkpoint, so dit sample needs no flags
        Path ckpt;
        try (var s = Files.list(out.resolve("checkpoints"))) {
            ckpt = s.filter(p -> p.toString().endsWith(".pt")).sorted().reduce((a, b) -> b).orElseThrow();
        }
        java.util.Map<?, ?> args = (java.util.Map<?, ?>) ((java.util.Map<?, ?>) dit4j.io.PtReader.load(ckpt)).get("args");
        assertEquals("flow", args.get("objective"));
        assertEquals("dpm++2m", args.get("sample_sampler"));
        Cli.Result again = Cli.run("sample", "--checkpoint", ckpt.toString(), "--per-class", "1", "--out", tmp.resolve("again").toString(), "--no-images");
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.err().contains("dpm++2m 20 steps"), again.err());
    }
}
