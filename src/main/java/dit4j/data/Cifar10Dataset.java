package dit4j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CIFAR-10 binary version (cifar-10-batches-bin): records of 1 label byte + 3072 pixel bytes
 * (the 1024 red values, then green, then blue, each a row-major 32x32 plane), which is already
 * the CHW layout the model wants. Split "train" = data_batch_1..5.bin, "test" = test_batch.bin.
 */
public final class Cifar10Dataset implements ImageDataset {
    public static final int SIDE = 32, PIXELS = 3 * SIDE * SIDE, RECORD = 1 + PIXELS;

    public static final List<String> CLASSES = List.of(
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

    private final List<Path> files;
    private final int[] firstIndex;  // firstIndex[f] = index of file f's first record
    private final byte[] pixels;     // count * 3072, CHW per image
    private final byte[] labels;
    private final int size, channels;
    private final List<String> classNames;

    private Cifar10Dataset(List<Path> files, int[] firstIndex, byte[] pixels, byte[] labels, int size, int channels, List<String> names) {
        this.files = files;
        this.firstIndex = firstIndex;
        this.pixels = pixels;
        this.labels = labels;
        this.size = size;
        this.channels = channels;
        this.classNames = names;
    }

    /** True if {@code dir} holds CIFAR-10 binary batches. */
    public static boolean looksLikeCifar(Path dir) {
        return Files.isRegularFile(dir.resolve("data_batch_1.bin")) || Files.isRegularFile(dir.resolve("test_batch.bin"));
    }

    /**
     * Opens split "train" (all five data_batch_N.bin must be there: a partial download would
     * otherwise train silently on less data) or "test". imageSize 0 = 32; channels 0 or 3 = RGB,
     * 1 = luminance.
     */
    public static Cifar10Dataset open(Path dir, String split, int imageSize, int channels) throws IOException {
        if (imageSize < 0) throw new IllegalArgumentException("imageSize must be >= 0 (0 = native), got " + imageSize);
        if (channels != 0 && channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 0, 1 or 3, got " + channels);
        List<Path> files = new ArrayList<>();
        if ("train".equals(split)) {
            for (int i = 1; i <= 5; i++) files.add(dir.resolve("data_batch_" + i + ".bin"));
        } else if ("test".equals(split)) {
            files.add(dir.resolve("test_batch.bin"));
        } else {
            throw new DatasetException("unknown split '" + split + "'; expected train or test");
        }
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new DatasetException(f + ": not found (CIFAR-10 split " + split + " needs "
                        + ("train".equals(split) ? "data_batch_1.bin .. data_batch_5.bin" : "test_batch.bin") + ")");
            }
        }
        long total = 0;
        for (Path f : files) {
            long len = Files.size(f);
            if (len == 0 || len % RECORD != 0) {
                throw new DatasetException(f + ": " + len + " bytes is not a whole, positive number of " + RECORD
                        + "-byte CIFAR-10 records (1 label + 3x32x32 pixels)");
            }
            total += len / RECORD;
        }
        int count = Math.toIntExact(total);
        byte[] pixels = new byte[count * PIXELS];
        byte[] labels = new byte[count];
        int[] first = new int[files.size()];
        int n = 0;
        for (int fi = 0; fi < files.size(); fi++) {
            Path f = files.get(fi);
            byte[] data = Files.readAllBytes(f);
            first[fi] = n;
            for (int r = 0; r < data.length / RECORD; r++, n++) {
                int label = data[r * RECORD] & 0xff;
                if (label >= 10) throw new DatasetException(f + ": record " + r + " has label " + label + "; CIFAR-10 labels are 0..9");
                labels[n] = (byte) label;
                System.arraycopy(data, r * RECORD + 1, pixels, n * PIXELS, PIXELS);
            }
        }
        return new Cifar10Dataset(List.copyOf(files), first, pixels, labels, imageSize == 0 ? SIDE : imageSize,
                channels == 0 ? 3 : channels, classNames(dir));
    }

    /** batches.meta.txt (one name a line) when present, else the standard names. */
    private static List<String> classNames(Path dir) throws IOException {
        Path meta = dir.resolve("batches.meta.txt");
        if (!Files.isRegularFile(meta)) return CLASSES;
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) names.add(line.trim());
        }
        if (names.size() != 10) throw new DatasetException(meta + ": " + names.size() + " class names, expected 10 (one a line)");
        return List.copyOf(names);
    }

    @Override public int size() { return labels.length; }
    @Override public int channels() { return channels; }
    @Override public int imageSize() { return size; }
    @Override public int numClasses() { return 10; }
    @Override public List<String> classNames() { return classNames; }

    @Override
    public int label(int index) {
        return labels[checkIndex(index)];
    }

    @Override
    public void read(int index, boolean flip, float[] out, int offset) {
        int start = checkIndex(index) * PIXELS;
        // Gray first, then resample: the order of PIL's convert("L") followed by center_crop_arr.
        byte[] planes = pixels;
        int inChannels = 3;
        if (channels == 1) {
            planes = Pixels.rgbToGray(pixels, start, SIDE * SIDE);
            start = 0;
            inChannels = 1;
        }
        if (size != SIDE) {
            byte[] image = java.util.Arrays.copyOfRange(planes, start, start + inChannels * SIDE * SIDE);
            planes = Resample.centerCrop(image, inChannels, SIDE, SIDE, size);
            start = 0;
        }
        Pixels.writeChw(planes, start, inChannels, channels, size, flip, out, offset);
    }

    @Override
    public String describe(int index) {
        checkIndex(index);
        int f = files.size() - 1;
        while (firstIndex[f] > index) f--;
        return files.get(f) + "#" + (index - firstIndex[f]);
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= labels.length) throw new IndexOutOfBoundsException("image " + index + " of " + labels.length + " in " + files.get(0).getParent());
        return index;
    }
}
