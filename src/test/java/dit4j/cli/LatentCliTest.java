package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.data.LatentStore;
import dit4j.io.Npz;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.VaeConfig;
import dit4j.vae.VaeFiles;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Latent diffusion end to end with a real (small, random) VAE: extract features, train, sample, decode. */
class LatentCliTest {
    @TempDir
    Path tmp;

    static Path tinyVae(Path dir) throws Exception {
        AutoencoderKL vae = new AutoencoderKL(new VaeConfig(3, 3, new int[] {16, 32}, 1, 4, 8, 0.5, true, true, true));
        vae.randomize(torch.createCPUGenerator(3));
        VaeFiles.save(vae, dir);
        return dir;
    }

    static Path imageFolder(Path root) throws Exception {
        java.util.Random r = new java.util.Random(5);
        String[] classes = {"red", "blue"};
        for (int c = 0; c < classes.length; c++) {
            Files.createDirectories(root.resolve(classes[c]));
            for (int i = 0; i < 12; i++) {
                BufferedImage img = new BufferedImage(20, 16, BufferedImage.TYPE_3BYTE_BGR);
                for (int y = 0; y < 16; y++) for (int x = 0; x < 20; x++) {
                    int v = 100 + r.nextInt(100);
                    img.setRGB(x, y, c == 0 ? (v << 16) : v);
                }
                ImageIO.write(img, "png", root.resolve(classes[c]).resolve(i + ".png").toFile());
            }
        }
        return root;
    }

    @Test
    void extractTrainSampleDecode() throws Exception {
        Path vae = tinyVae(tmp.resolve("vae"));
        Path images = imageFolder(tmp.resolve("images"));
        Path store = tmp.resolve("features");
        Cli.Result x = Cli.run("extract-features", "--data-path", images.toString(), "--vae", vae.toString(), "--image-size", "16",
                "--out", store.toString(), "--flips", "--shard-size", "10", "--batch-size", "4");
        assertEquals(0, x.exit(), x.err());
        LatentStore s = LatentStore.open(store);
        assertEquals(24, s.size());
        assertEquals(4, s.channels());
        assertEquals(8, s.imageSize());
        assertEquals(java.util.List.of("blue", "red"), s.classNames());

        // Resumable: a lost shard is rebuilt, the others kept.
        Path shard1 = LatentStore.shardPath(store, 1);
        long before = Files.getLastModifiedTime(LatentStore.shardPath(store, 0)).toMillis();
        Files.delete(shard1);
        assertEquals(0, Cli.run("extract-features", "--data-path", images.toString(), "--vae", vae.toString(), "--image-size", "16",
                "--out", store.toString(), "--flips", "--shard-size", "10", "--batch-size", "4").exit());
        assertTrue(Files.exists(shard1));
        assertEquals(before, Files.getLastModifiedTime(LatentStore.shardPath(store, 0)).toMillis());

        Path run = tmp.resolve("run");
        Cli.Result t = Cli.run("train", "--features", store.toString(), "--run-dir", run.toString(), "--depth", "2", "--hidden-size", "32",
                "--heads", "2", "--patch", "2", "--global-batch-size", "8", "--steps", "200", "--lr", "1e-3", "--log-every", "50");
        assertEquals(0, t.exit(), t.err());
        var log = dit4j.train.TrainLog.readLoss(run.resolve("log.jsonl"));
        assertTrue(log.get(log.size() - 1)[1] < log.get(0)[1], "the loss falls over 200 steps");

        Path out = tmp.resolve("samples");
        Cli.Result smp = Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000200.pt").toString(), "--per-class", "2",
                "--sampler", "ddim", "--steps", "5", "--out", out.toString());
        assertEquals(0, smp.exit(), smp.err());
        assertTrue(smp.err().contains("decoding 4 latents with " + vae.toAbsolutePath()), smp.err());
        assertArrayEquals(new long[] {4, 16, 16, 3}, Npz.read(out.resolve("samples.npz")).get("arr_0").shape());
    }

    @Test
    void trainEncodingOnTheFly() throws Exception {
        Path vae = tinyVae(tmp.resolve("vae"));
        Path images = imageFolder(tmp.resolve("images"));
        Path run = tmp.resolve("run");
        Cli.Result t = Cli.run("train", "--data-path", images.toString(), "--vae", vae.toString(), "--image-size", "16", "--run-dir", run.toString(),
                "--depth", "1", "--hidden-size", "32", "--heads", "2", "--patch", "2", "--global-batch-size", "4", "--steps", "3");
        assertEquals(0, t.exit(), t.err());
        assertTrue(t.err().contains("4x8x8"), t.err());
        Cli.Result noVae = Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000003.pt").toString(), "--labels", "0",
                "--steps", "2", "--vae", tmp.resolve("elsewhere").toString(), "--out", tmp.resolve("s").toString());
        assertEquals(1, noVae.exit());
        assertTrue(noVae.err().contains("elsewhere"), noVae.err());
    }
}
