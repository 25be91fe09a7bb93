package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
    @TempDir
    Path tmp;

    static final int N = 3, R = 4, C = 4;

    /** Image i, pixel (y, x) = 16*i + 4*y + x + 200*(x == 3): distinct everywhere, and the last column stands out. */
    static int pixel(int i, int y, int x) {
        return (16 * i + 4 * y + x + (x == 3 ? 200 : 0)) & 0xff;
    }

    static byte[] imagesFile(int magic, int n, int rows, int cols, int pixelsToWrite) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixelsToWrite);  // big-endian, as IDX
        b.putInt(magic).putInt(n).putInt(rows).putInt(cols);
        for (int k = 0; k < pixelsToWrite; k++) {
            int i = k / (rows * cols), y = k % (rows * cols) / cols, x = k % cols;
            b.put((byte) pixel(i, y, x));
        }
        return b.array();
    }

    static byte[] labelsFile(int magic, int... labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(magic).putInt(labels.length);
        for (int l : labels) b.put((byte) l);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
            gz.write(raw);
        }
        return bo.toByteArray();
    }

    Path writeSet(String dirName, String split, boolean gzImages, boolean gzLabels) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(dirName));
        byte[] im = imagesFile(2051, N, R, C, N * R * C), lb = labelsFile(2049, 7, 0, 9);
        Files.write(dir.resolve(split + "-images-idx3-ubyte" + (gzImages ? ".gz" : "")), gzImages ? gzip(im) : im);
        Files.write(dir.resolve(split + "-labels-idx1-ubyte" + (gzLabels ? ".gz" : "")), gzLabels ? gzip(lb) : lb);
        return dir;
    }

    @Test
    void readsExactPixelsLabelsAndFlip() throws IOException {
        for (boolean gz : new boolean[] {true, false}) {
            IdxDataset ds = IdxDataset.open(writeSet("mnist-" + gz, "train", gz, !gz), "train", 0);
            assertEquals(N, ds.size());
            assertEquals(1, ds.channels());
            assertEquals(4, ds.imageSize());
            assertEquals(10, ds.numClasses());
            assertEquals(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), ds.classNames());
            assertEquals(List.of(7, 0, 9), List.of(ds.label(0), ds.label(1), ds.label(2)));
            float[] out = new float[2 + R * C];
            ds.read(2, false, out, 2);
            float[] flipped = new float[R * C];
            ds.read(2, true, flipped, 0);
            for (int y = 0; y < R; y++) {
                for (int x = 0; x < C; x++) {
                    assertEquals(pixel(2, y, x) / 127.5f - 1f, out[2 + y * C + x], 1e-7f);
                    assertEquals(pixel(2, y, C - 1 - x) / 127.5f - 1f, flipped[y * C + x], 1e-7f);
                }
            }
            assertEquals(0f, out[0]);  // before the offset: untouched
            assertTrue(ds.describe(1).endsWith("train-images-idx3-ubyte" + (gz ? ".gz" : "") + "#1"), ds.describe(1));
        }
    }

    @Test
    void gzipIsDetectedByMagicNotByName() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("misnamed"));
        Path images = dir.resolve("imgs.raw"), labels = dir.resolve("labels.gz");
        Files.write(images, gzip(imagesFile(2051, N, R, C, N * R * C)));  // gzipped, no .gz
        Files.write(labels, labelsFile(2049, 1, 2, 3));                    // raw, named .gz
        IdxDataset ds = IdxDataset.fromFiles(images, labels, 0, 1);
        float[] out = new float[R * C];
        ds.read(0, false, out, 0);
        assertEquals(pixel(0, 0, 3) / 127.5f - 1f, out[3], 1e-7f);
        assertEquals(3, ds.label(2));
    }

    @Test
    void testSplitResizeAndThreeChannels() throws IOException {
        Path dir = writeSet("set", "t10k", false, false);
        IdxDataset ds = IdxDataset.open(dir, "test", 2, 3);
        assertEquals(2, ds.imageSize());
        assertEquals(3, ds.channels());
        float[] out = new float[3 * 4];
        ds.read(0, false, out, 0);
        // 4x4 -> 2x2 is one BOX halving; top-left block of image 0: 0,1,4,5 -> 2.5 -> 3 (PIL rounds each pass: 0.5->1, 4.5->5, then 3)
        assertEquals(3 / 127.5f - 1f, out[0], 1e-7f);
        for (int c = 1; c < 3; c++) assertEquals(Arrays.toString(Arrays.copyOfRange(out, 0, 4)), Arrays.toString(Arrays.copyOfRange(out, 4 * c, 4 * c + 4)));
        assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
    }

    @Test
    void fashionNamesWhenThePathSaysFashion() throws IOException {
        IdxDataset ds = IdxDataset.open(writeSet("Fashion-MNIST", "train", true, true), "train", 0);
        assertEquals("Ankle boot", ds.classNames().get(9));
        assertEquals("T-shirt/top", ds.classNames().get(0));
    }

    @Test
    void badFilesGiveOneLineErrorsNamingTheFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bad"));
        Path images = dir.resolve("train-images-idx3-ubyte"), labels = dir.resolve("train-labels-idx1-ubyte");
        Files.write(labels, labelsFile(2049, 1, 2, 3));

        Files.write(images, imagesFile(2049, N, R, C, N * R * C));  // a labels magic on the images file
        IOException e = assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
        assertTrue(e.getMessage().startsWith(images + ": ") && e.getMessage().contains("2051"), e.getMessage());

        Files.write(images, imagesFile(2051, N, R, C, N * R * C - 5));  // truncated
        e = assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
        assertTrue(e.getMessage().startsWith(images + ": truncated"), e.getMessage());

        byte[] gz = gzip(imagesFile(2051, N, R, C, N * R * C));
        Files.write(images, Arrays.copyOf(gz, gz.length / 2));  // truncated gzip stream
        e = assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
        assertTrue(e.getMessage().startsWith(images + ": corrupt or truncated gzip"), e.getMessage());

        Files.write(images, imagesFile(2051, N, R, C, N * R * C));
        Files.write(labels, labelsFile(2049, 1, 2));  // one label short
        e = assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
        assertTrue(e.getMessage().startsWith(labels + ": 2 labels") && e.getMessage().contains("3 images"), e.getMessage());

        assertFalse(e.getMessage().contains("\n"));
        Files.delete(labels);
        e = assertThrows(DatasetException.class, () -> IdxDataset.open(dir, "train", 0));
        assertTrue(e.getMessage().contains("train-labels-idx1-ubyte") && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void realFashionMnistTrainSplit() throws IOException {
        Path dir = Path.of("/usr/share/datasets/fashion-mnist");
        Assumptions.assumeTrue(Files.isDirectory(dir), "no " + dir);
        IdxDataset ds = IdxDataset.open(dir, "train", 0);
        assertEquals(60000, ds.size());
        assertEquals(10, ds.numClasses());
        assertEquals(28, ds.imageSize());
        assertEquals(IdxDataset.FASHION_CLASSES, ds.classNames());
        int[] perClass = new int[10];
        for (int i = 0; i < ds.size(); i++) perClass[ds.label(i)]++;
        for (int n : perClass) assertEquals(6000, n);  // Fashion-MNIST train is balanced
        float[] out = new float[ds.imageLength()];
        ds.read(0, false, out, 0);
        float min = 2, max = -2;
        for (float v : out) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(-1f, min);  // background is black
        assertTrue(max > 0.5f);
    }
}
