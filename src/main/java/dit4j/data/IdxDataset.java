package dit4j.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * MNIST-style IDX files (MNIST, Fashion-MNIST, EMNIST): an image file (magic 2051: unsigned bytes,
 * 3 dimensions: count, rows, cols) and a label file (magic 2049: count), big-endian, gzipped or
 * not. All pixels stay in memory as bytes (Fashion-MNIST train: 47 MB); reads only convert.
 */
public final class IdxDataset implements ImageDataset {
    public static final int IMAGES_MAGIC = 0x00000803;  // 2051
    public static final int LABELS_MAGIC = 0x00000801;  // 2049

    /** Fashion-MNIST's labels, in label order (Xiao et al. 2017). */
    public static final List<String> FASHION_CLASSES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final int IMAGES_HEADER = 16, LABELS_HEADER = 8;

    private final Path imagesFile;
    private final byte[] images;  // the whole decompressed images file, header included (no second copy)
    private final byte[] labels;  // the whole decompressed labels file
    private final int count, rows, cols, size, channels, numClasses;
    private final List<String> classNames;

    private IdxDataset(Path imagesFile, byte[] images, byte[] labels, int count, int rows, int cols, int size, int channels, int numClasses, List<String> names) {
        this.imagesFile = imagesFile;
        this.images = images;
        this.labels = labels;
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.size = size;
        this.channels = channels;
        this.numClasses = numClasses;
        this.classNames = names;
    }

    /** Grayscale images of {@code dir} for split "train" or "test"; imageSize 0 = native (28 for MNIST). */
    public static IdxDataset open(Path dir, String split, int imageSize) throws IOException {
        return open(dir, split, imageSize, 1);
    }

    /** As {@link #open(Path, String, int)}; channels 0 or 1 = grayscale, 3 = gray replicated to RGB. */
    public static IdxDataset open(Path dir, String split, int imageSize, int channels) throws IOException {
        String prefix = splitPrefix(split);
        Path images = find(dir, prefix + "-images", "idx3-ubyte");
        Path labels = find(dir, prefix + "-labels", "idx1-ubyte");
        return fromFiles(images, labels, imageSize, channels);
    }

    /** True if {@code dir} holds IDX image files of either split. */
    public static boolean looksLikeIdx(Path dir) {
        for (String p : new String[] {"train", "t10k"}) {
            if (findOrNull(dir, p + "-images", "idx3-ubyte") != null) return true;
        }
        return false;
    }

    /**
     * The labels file that goes with an images file: images-idx3 -> labels-idx1 in the name, with
     * or without .gz (whichever exists; the two files need not both be gzipped).
     */
    public static Path labelsFileFor(Path imagesFile) {
        String name = imagesFile.getFileName().toString()
                .replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1");
        String stem = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
        for (String candidate : new String[] {name, stem, stem + ".gz"}) {
            Path p = imagesFile.resolveSibling(candidate);
            if (Files.isRegularFile(p)) return p;
        }
        return imagesFile.resolveSibling(name);  // missing: the error will name the expected file
    }

    /** An explicit image/label file pair (either may be gzipped: detected by the gzip magic, not the name). */
    public static IdxDataset fromFiles(Path imagesFile, Path labelsFile, int imageSize, int channels) throws IOException {
        if (imageSize < 0) throw new IllegalArgumentException("imageSize must be >= 0 (0 = native), got " + imageSize);
        if (channels != 0 && channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 0, 1 or 3, got " + channels);
        byte[] im = readMaybeGzipped(imagesFile, IMAGES_HEADER);
        byte[] lb = readMaybeGzipped(labelsFile, LABELS_HEADER);

        checkMagic(imagesFile, im, IMAGES_MAGIC, "IDX images file");
        checkMagic(labelsFile, lb, LABELS_MAGIC, "IDX labels file");
        if (im.length < IMAGES_HEADER) throw new DatasetException(imagesFile + ": truncated header (" + im.length + " bytes, expected " + IMAGES_HEADER + ")");
        int n = int32(im, 4), rows = int32(im, 8), cols = int32(im, 12);
        if (n <= 0 || rows <= 0 || cols <= 0) {
            throw new DatasetException(imagesFile + ": header says " + n + " images of " + rows + "x" + cols + "; expected positive sizes");
        }
        long expected = IMAGES_HEADER + (long) n * rows * cols;
        if (im.length != expected) {
            throw new DatasetException(imagesFile + ": " + (im.length < expected ? "truncated: " : "") + "header says " + n + " images of "
                    + rows + "x" + cols + " = " + expected + " bytes, but the data has " + im.length + " bytes");
        }
        if (lb.length < LABELS_HEADER) throw new DatasetException(labelsFile + ": truncated header (" + lb.length + " bytes, expected " + LABELS_HEADER + ")");
        int ln = int32(lb, 4);
        if (lb.length != LABELS_HEADER + (long) ln) {
            throw new DatasetException(labelsFile + ": " + (lb.length < LABELS_HEADER + (long) ln ? "truncated: " : "") + "header says " + ln
                    + " labels = " + (LABELS_HEADER + (long) ln) + " bytes, but the data has " + lb.length + " bytes");
        }
        if (ln != n) throw new DatasetException(labelsFile + ": " + ln + " labels, but " + imagesFile.getFileName() + " has " + n + " images");

        int maxLabel = 0;
        for (int i = LABELS_HEADER; i < lb.length; i++) maxLabel = Math.max(maxLabel, lb[i] & 0xff);
        int numClasses = Math.max(10, maxLabel + 1);  // MNIST-likes have 10; EMNIST splits have more
        String where = imagesFile.toAbsolutePath().toString().toLowerCase(Locale.ROOT);
        List<String> names;
        if (where.contains("fashion") && numClasses == 10) {
            names = FASHION_CLASSES;
        } else {
            List<String> digits = new ArrayList<>();
            for (int i = 0; i < numClasses; i++) digits.add(Integer.toString(i));
            names = List.copyOf(digits);
        }
        int size = imageSize > 0 ? imageSize : Math.min(rows, cols);  // a non-square native image is center-cropped
        return new IdxDataset(imagesFile, im, lb, n, rows, cols, size, channels == 0 ? 1 : channels, numClasses, names);
    }

    private static String splitPrefix(String split) throws DatasetException {
        if ("train".equals(split)) return "train";
        if ("test".equals(split)) return "t10k";
        throw new DatasetException("unknown split '" + split + "'; expected train or test");
    }

    /** Accepts the usual spellings: train-images-idx3-ubyte, train-images.idx3-ubyte, each with or without .gz. */
    private static Path findOrNull(Path dir, String stem, String kind) {
        for (String sep : new String[] {"-", "."}) {
            for (String ext : new String[] {"", ".gz"}) {
                Path p = dir.resolve(stem + sep + kind + ext);
                if (Files.isRegularFile(p)) return p;
            }
        }
        return null;
    }

    private static Path find(Path dir, String stem, String kind) throws DatasetException {
        Path p = findOrNull(dir, stem, kind);
        if (p == null) throw new DatasetException(dir.resolve(stem + "-" + kind) + "[.gz]: not found");
        return p;
    }

    /** The most an IDX file may hold: the bytes stay in one Java array. */
    static final long MAX_BYTES = Integer.MAX_VALUE - 16;

    /**
     * The file's bytes, gunzipped if it starts with the gzip magic 1f 8b. The header is read
     * first and the body only up to the size it declares (plus one byte, to tell the file is
     * longer), so a small gzip that inflates to gigabytes costs no more than its header claims.
     */
    static byte[] readMaybeGzipped(Path file, int headerBytes) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            boolean gzipped = b0 == 0x1f && b1 == 0x8b;
            try (InputStream in = gzipped ? new GZIPInputStream(raw, 1 << 16) : raw) {
                byte[] header = in.readNBytes(headerBytes);
                if (header.length < headerBytes) return header;  // the caller names the truncation
                long declared = headerBytes + declaredBody(header);
                if (declared > MAX_BYTES) {
                    throw new DatasetException(file + ": header declares " + declared + " bytes, more than an IDX file may hold (" + MAX_BYTES + ")");
                }
                byte[] all = java.util.Arrays.copyOf(header, (int) declared + (declared < MAX_BYTES ? 1 : 0));
                int n = headerBytes;
                while (n < all.length) {
                    int r = in.read(all, n, all.length - n);
                    if (r < 0) break;
                    n += r;
                }
                return n == all.length ? all : java.util.Arrays.copyOf(all, n);
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                throw new DatasetException(file + ": corrupt or truncated gzip data (" + e.getMessage() + ")", e);
            }
        } catch (NoSuchFileException e) {
            throw new DatasetException(file + ": not found", e);
        }
    }

    /** Body bytes the header declares: count x rows x cols for images, count for labels (0 if the magic is neither). */
    private static long declaredBody(byte[] header) {
        int magic = int32(header, 0);
        if (magic == IMAGES_MAGIC && header.length >= IMAGES_HEADER) {
            long n = int32(header, 4), rows = int32(header, 8), cols = int32(header, 12);
            return n > 0 && rows > 0 && cols > 0 ? n * rows * cols : 0;
        }
        if (magic == LABELS_MAGIC && header.length >= LABELS_HEADER) return Math.max(0, int32(header, 4));
        return 0;
    }

    private static void checkMagic(Path file, byte[] b, int magic, String what) throws DatasetException {
        if (b.length < 4) throw new DatasetException(file + ": truncated (" + b.length + " bytes); expected an " + what);
        int m = int32(b, 0);
        if (m != magic) {
            throw new DatasetException(String.format("%s: not an %s: magic number %d (0x%08x), expected %d (0x%08x)", file, what, m, m, magic, magic));
        }
    }

    private static int int32(byte[] b, int off) {  // IDX is big-endian
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    @Override public int size() { return count; }
    @Override public int channels() { return channels; }
    @Override public int imageSize() { return size; }
    @Override public int numClasses() { return numClasses; }
    @Override public List<String> classNames() { return classNames; }

    /** Rows and columns of the stored images (28 x 28 for MNIST). */
    public int nativeRows() { return rows; }
    public int nativeCols() { return cols; }

    @Override
    public int label(int index) {
        return labels[LABELS_HEADER + checkIndex(index)] & 0xff;
    }

    @Override
    public void read(int index, boolean flip, float[] out, int offset) {
        int start = IMAGES_HEADER + checkIndex(index) * rows * cols;
        if (rows == size && cols == size) {
            Pixels.writeChw(images, start, 1, channels, size, flip, out, offset);
        } else {
            byte[] plane = java.util.Arrays.copyOfRange(images, start, start + rows * cols);
            Pixels.writeChw(Resample.centerCrop(plane, 1, cols, rows, size), 0, 1, channels, size, flip, out, offset);
        }
    }

    @Override
    public String describe(int index) {
        return imagesFile + "#" + index;
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= count) throw new IndexOutOfBoundsException("image " + index + " of " + count + " in " + imagesFile);
        return index;
    }
}
