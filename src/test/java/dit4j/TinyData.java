package dit4j;

import dit4j.data.ImageDataset;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Small labelled datasets made by the tests themselves. */
public final class TinyData {
    private TinyData() {}

    /** Writes train-images/labels IDX files of n random 8x8 images with labels i % classes. */
    public static Path idx(Path dir, int n, int size, int classes, long seed) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(seed);
        ByteBuffer im = ByteBuffer.allocate(16 + n * size * size).putInt(2051).putInt(n).putInt(size).putInt(size);
        ByteBuffer lb = ByteBuffer.allocate(8 + n).putInt(2049).putInt(n);
        for (int i = 0; i < n; i++) {
            int label = i % classes;
            for (int p = 0; p < size * size; p++) im.put((byte) (label * 40 + r.nextInt(60)));
            lb.put((byte) label);
        }
        Files.write(dir.resolve("train-images-idx3-ubyte"), im.array());
        Files.write(dir.resolve("train-labels-idx1-ubyte"), lb.array());
        return dir;
    }

    /** An in-memory dataset of random images. */
    public static ImageDataset memory(int n, int size, int classes, long seed) {
        return memory(n, size, classes, seed, Long.MAX_VALUE);
    }

    /** An in-memory dataset whose reads after the first {@code goodReads} decode to NaN. */
    public static ImageDataset memory(int n, int size, int classes, long seed, long goodReads) {
        float[][] images = new float[n][size * size];
        Random r = new Random(seed);
        for (float[] img : images) for (int p = 0; p < img.length; p++) img[p] = r.nextFloat() * 2 - 1;
        java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
        return new ImageDataset() {
            public int size() { return n; }
            public int channels() { return 1; }
            public int imageSize() { return size; }
            public int numClasses() { return classes; }
            public List<String> classNames() {
                return java.util.stream.IntStream.range(0, classes).mapToObj(i -> "c" + i).toList();
            }
            public int label(int index) { return index % classes; }
            public void read(int index, boolean flip, float[] out, int offset) {
                boolean poisoned = reads.incrementAndGet() > goodReads;
                for (int y = 0; y < size; y++) {
                    for (int x = 0; x < size; x++) out[offset + y * size + x] = poisoned ? Float.NaN : images[index][y * size + (flip ? size - 1 - x : x)];
                }
            }
            public String describe(int index) { return "memory#" + index; }
        };
    }
}
