package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cifar10DatasetTest {
    @TempDir
    Path tmp;

    /** Record r: label, R plane = (i + r) % 256 over the 1024 pixels, G = 100 + r, B = 200 + r. */
    static byte[] records(int first, int... labels) {
        byte[] b = new byte[labels.length * 3073];
        for (int k = 0; k < labels.length; k++) {
            int r = first + k, o = k * 3073;
            b[o] = (byte) labels[k];
            for (int i = 0; i < 1024; i++) {
                b[o + 1 + i] = (byte) ((i + r) % 256);
                b[o + 1 + 1024 + i] = (byte) (100 + r);
                b[o + 1 + 2048 + i] = (byte) (200 + r);
            }
        }
        return b;
    }

    /** v/127.5 - 1 rounded once to float (exactly what the readers produce). */
    static float f(int v) {
        return (float) (v / 127.5 - 1.0);
    }

    @Test
    void testBatchChannelLayoutValuesAndFlip() throws IOException {
        Files.write(tmp.resolve("test_batch.bin"), records(0, 3, 9));
        Cifar10Dataset ds = Cifar10Dataset.open(tmp, "test", 0, 0);
        assertEquals(2, ds.size());
        assertEquals(3, ds.channels());
        assertEquals(32, ds.imageSize());
        assertEquals(Cifar10Dataset.CLASSES, ds.classNames());
        assertEquals(3, ds.label(0));
        assertEquals(9, ds.label(1));
        float[] out = new float[3 * 1024];
        ds.read(1, false, out, 0);
        assertEquals(f(1), out[0]);          // R plane first: pixel (0,0)
        assertEquals(f(1 + 33), out[33]);    // R at (1,1)
        assertEquals(f(101), out[1024]);     // then G
        assertEquals(f(201), out[2048 + 500]); // then B
        ds.read(1, true, out, 0);
        assertEquals(f(32), out[0]);         // mirrored: (0,0) now holds column 31's value, 31 + 1
        assertTrue(ds.describe(1).endsWith("test_batch.bin#1"));
    }

    @Test
    void grayscaleAndResize() throws IOException {
        Files.write(tmp.resolve("test_batch.bin"), records(0, 0));
        Cifar10Dataset gray = Cifar10Dataset.open(tmp, "test", 0, 1);
        float[] out = new float[1024];
        gray.read(0, false, out, 0);
        // 0.299 R + 0.587 G + 0.114 B at pixel 10: R = 10, G = 100, B = 200 -> 84.49 -> 84
        assertEquals(f(84), out[10]);
        Cifar10Dataset small = Cifar10Dataset.open(tmp, "test", 16, 0);
        float[] s = new float[3 * 256];
        small.read(0, false, s, 0);
        assertEquals(f(100), s[256]);  // a constant plane stays constant through BOX halving
        assertEquals(f(200), s[2 * 256 + 255]);
        // R row 0 = 0..31 -> BOX 2x2 means: ((0+1)/2 -> 1, (32+33)/2 -> 33, then (1+33)/2) = 17
        assertEquals(f(17), s[0]);
    }

    @Test
    void trainNeedsAllFiveBatchesAndUsesMetaNames() throws IOException {
        for (int i = 1; i <= 4; i++) Files.write(tmp.resolve("data_batch_" + i + ".bin"), records(i, i));
        IOException e = assertThrows(DatasetException.class, () -> Cifar10Dataset.open(tmp, "train", 0, 0));
        assertTrue(e.getMessage().startsWith(tmp.resolve("data_batch_5.bin") + ": not found"), e.getMessage());
        Files.write(tmp.resolve("data_batch_5.bin"), records(5, 5, 6));
        Files.writeString(tmp.resolve("batches.meta.txt"), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
        Cifar10Dataset ds = Cifar10Dataset.open(tmp, "train", 0, 0);
        assertEquals(6, ds.size());
        assertEquals(List.of(1, 2, 3, 4, 5, 6), List.of(ds.label(0), ds.label(1), ds.label(2), ds.label(3), ds.label(4), ds.label(5)));
        assertEquals("j", ds.classNames().get(9));
        assertTrue(ds.describe(3).endsWith("data_batch_4.bin#0"));
        assertTrue(ds.describe(5).endsWith("data_batch_5.bin#1"));
    }

    @Test
    void badFiles() throws IOException {
        Path f = tmp.resolve("test_batch.bin");
        Files.write(f, java.util.Arrays.copyOf(records(0, 1, 2), 2 * 3073 - 1));
        IOException e = assertThrows(DatasetException.class, () -> Cifar10Dataset.open(tmp, "test", 0, 0));
        assertTrue(e.getMessage().startsWith(f + ": 6145 bytes is not a whole"), e.getMessage());
        Files.write(f, records(0, 1, 10));
        e = assertThrows(DatasetException.class, () -> Cifar10Dataset.open(tmp, "test", 0, 0));
        assertTrue(e.getMessage().startsWith(f + ": record 1 has label 10"), e.getMessage());
    }
}
