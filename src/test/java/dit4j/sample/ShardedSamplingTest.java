package dit4j.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.OptionException;
import dit4j.TinyCheckpoint;
import dit4j.diffusion.Sampler;
import dit4j.io.Npz;
import dit4j.runtime.Precision;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images keyed by index: the same bytes over any number of ranks, reruns that make only what is missing, the streamed npz. */
class ShardedSamplingTest {
    @TempDir
    Path tmp;

    static Generation.Options options(String sampler, String steps, double cfg, long seed, int batch) {
        return new Generation.Options(sampler, steps, 0.0, cfg, 3, false, seed, batch, Precision.FLOAT32);
    }

    /** All ranks of a world, one after the other in this JVM; returns the images computed. */
    static int runAll(ShardedSampling s, int world) throws Exception {
        int computed = 0;
        for (int r = 0; r < world; r++) computed += s.run(r, world, Sampler.Progress.NONE).computed();
        return computed;
    }

    @Test
    void theImagesDoNotDependOnTheWorldSizeAndARerunMakesOnlyTheMissingOnes() throws Exception {
        SampleModel m = SampleModel.load(TinyCheckpoint.get(), true, 0);
        int k = 11;
        for (Generation.Options o : new Generation.Options[] {options("ddpm", "6", 3.0, 5, 4), options("ddim", "5", 1.0, 9, 4)}) {
            long[] ys = IndexedNoise.labels(o.seed(), k, m.numClasses());
            Path one = tmp.resolve(o.sampler() + "-1"), three = tmp.resolve(o.sampler() + "-3");
            assertEquals(k, runAll(new ShardedSampling(m, null, TinyCheckpoint.get(), one, o, ys), 1));
            assertEquals(k, runAll(new ShardedSampling(m, null, TinyCheckpoint.get(), three, o, ys), 3));
            for (int i = 0; i < k; i++) {
                assertArrayEquals(Files.readAllBytes(ShardedSampling.png(one, i)), Files.readAllBytes(ShardedSampling.png(three, i)), o.sampler() + " image " + i);
            }
            // The images differ from each other (the noise is per image) and the labels are spread.
            assertTrue(!java.util.Arrays.equals(Files.readAllBytes(ShardedSampling.png(one, 0)), Files.readAllBytes(ShardedSampling.png(one, 1))));
            assertTrue(java.util.Arrays.stream(ys).distinct().count() >= 4, java.util.Arrays.toString(ys));

            // Lose three images; a rerun on 2 ranks makes exactly those, the same bytes, and leaves the others alone.
            FileTime kept = Files.getLastModifiedTime(ShardedSampling.png(three, 0));
            for (int i : new int[] {2, 7, 10}) Files.delete(ShardedSampling.png(three, i));
            Thread.sleep(20);
            assertEquals(3, runAll(new ShardedSampling(m, null, TinyCheckpoint.get(), three, o, ys), 2));
            assertEquals(kept, Files.getLastModifiedTime(ShardedSampling.png(three, 0)));
            for (int i = 0; i < k; i++) {
                assertArrayEquals(Files.readAllBytes(ShardedSampling.png(one, i)), Files.readAllBytes(ShardedSampling.png(three, i)), "rerun image " + i);
            }
            assertEquals(0, runAll(new ShardedSampling(m, null, TinyCheckpoint.get(), three, o, ys), 1));
        }
    }

    @Test
    void aFolderOfOtherSettingsIsRefused() throws Exception {
        SampleModel m = SampleModel.load(TinyCheckpoint.get(), true, 0);
        Generation.Options o = options("ddim", "3", 1.0, 1, 4);
        long[] ys = IndexedNoise.labels(1, 3, m.numClasses());
        new ShardedSampling(m, null, TinyCheckpoint.get(), tmp, o, ys).run(0, 1, Sampler.Progress.NONE);
        OptionException e = assertThrows(OptionException.class,
                () -> new ShardedSampling(m, null, TinyCheckpoint.get(), tmp, options("ddim", "3", 1.0, 2, 4), ys).run(0, 1, Sampler.Progress.NONE));
        assertTrue(e.getMessage().contains("000000.png was made with other settings"), e.getMessage());
    }

    @Test
    void theNpzHoldsEveryImageInIndexOrder() throws Exception {
        SampleModel m = SampleModel.load(TinyCheckpoint.get(), true, 0);
        Generation.Options o = options("ddim", "4", 2.0, 3, 3);
        long[] ys = Labels.perClass(m.numClasses(), 1);
        new ShardedSampling(m, null, TinyCheckpoint.get(), tmp, o, ys).run(0, 1, Sampler.Progress.NONE);
        Path npz = tmp.resolve("samples.npz");
        assertArrayEquals(new long[] {ys.length, 8, 8, 1}, SampleArchive.write(npz, tmp, ys));
        Map<String, Npz.Array> a = Npz.read(npz);
        assertEquals(Npz.UINT8, a.get("arr_0").dtype());
        assertArrayEquals(new long[] {ys.length, 8, 8, 1}, a.get("arr_0").shape());
        assertEquals(Npz.INT64, a.get("labels").dtype());
        assertArrayEquals(ys, a.get("labels").int64s());
        byte[] pixels = a.get("arr_0").uint8s();
        for (int i = 0; i < ys.length; i++) {
            BufferedImage img = ImageIO.read(ShardedSampling.png(tmp, i).toFile());
            for (int p = 0; p < 64; p++) assertEquals(img.getRaster().getSample(p % 8, p / 8, 0), pixels[i * 64 + p] & 0xFF, "image " + i + " pixel " + p);
        }
        // Written again from the same PNGs: the same bytes (fixed zip timestamps).
        byte[] first = Files.readAllBytes(npz);
        SampleArchive.write(npz, tmp, ys);
        assertArrayEquals(first, Files.readAllBytes(npz));
        Files.delete(ShardedSampling.png(tmp, 4));
        java.io.IOException missing = assertThrows(java.io.IOException.class, () -> SampleArchive.write(npz, tmp, ys));
        assertTrue(missing.getMessage().contains("000004.png is missing"), missing.getMessage());
    }
}
