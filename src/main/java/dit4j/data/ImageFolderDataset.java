package dit4j.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * A folder with one sub-folder per class, as torchvision's ImageFolder reads it (the official DiT
 * train.py uses ImageFolder + center_crop_arr): classes sorted by name, label = position;
 * .png/.jpg/.jpeg files (any case) anywhere inside a class folder, in sorted-walk order.
 * Names starting with '.' are skipped (ImageFolder would take ".ipynb_checkpoints" for a class and
 * "._x.jpg" macOS droppings for images). Images are decoded with javax.imageio on every read.
 */
public final class ImageFolderDataset implements ImageDataset {
    private final Path root;
    private final List<String> classNames;
    private final Path[] files;
    private final int[] labels;
    private final int size, channels;

    private ImageFolderDataset(Path root, List<String> classNames, Path[] files, int[] labels, int size, int channels) {
        this.root = root;
        this.classNames = classNames;
        this.files = files;
        this.labels = labels;
        this.size = size;
        this.channels = channels;
    }

    /**
     * Lists {@code root}. channels: 3 = RGB (0 means 3), 1 = luminance. With {@code skipBad}, every
     * image is decoded once now (in parallel) and the ones that fail are dropped and reported to
     * {@code warn}, so training never meets them; without it nothing is decoded until read().
     */
    public static ImageFolderDataset open(Path root, int imageSize, int channels, boolean skipBad, Consumer<String> warn) throws IOException {
        if (imageSize <= 0) throw new DatasetException(root + ": an image folder has no native size; give an image size");
        if (channels != 0 && channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 0, 1 or 3, got " + channels);
        int ch = channels == 0 ? 3 : channels;
        if (!Files.isDirectory(root)) throw new DatasetException(root + (Files.exists(root) ? ": not a folder" : ": not found"));

        List<Path> classDirs = new ArrayList<>();
        boolean anyEntry;
        try (Stream<Path> s = Files.list(root)) {
            List<Path> entries = s.filter(p -> !hidden(p)).toList();
            anyEntry = !entries.isEmpty();
            for (Path p : entries) if (Files.isDirectory(p)) classDirs.add(p);
        }
        if (!anyEntry) throw new DatasetException(root + ": empty folder; expected one sub-folder of images per class");
        if (classDirs.isEmpty()) throw new DatasetException(root + ": no class sub-folders; expected " + root + "/<class>/<image>.png|.jpg|.jpeg");
        classDirs.sort(Comparator.comparing(p -> p.getFileName().toString(), ImageFolderDataset::compareCodePoints));

        List<String> names = new ArrayList<>();
        List<Path> all = new ArrayList<>();
        List<Integer> allLabels = new ArrayList<>();
        for (Path dir : classDirs) {
            List<Path> images = listImages(dir);
            if (images.isEmpty()) throw new DatasetException(dir + ": class folder has no .png, .jpg or .jpeg images");
            for (Path p : images) {
                all.add(p);
                allLabels.add(names.size());
            }
            names.add(dir.getFileName().toString());
        }
        Path[] files = all.toArray(new Path[0]);
        int[] labels = allLabels.stream().mapToInt(Integer::intValue).toArray();

        if (skipBad) {
            Path[] listed = files;
            String[] errors = new String[listed.length];
            IntStream.range(0, listed.length).parallel().forEach(i -> {
                try {
                    decode(listed[i], ch);
                } catch (IOException | RuntimeException e) {
                    errors[i] = e.getMessage() != null ? e.getMessage() : listed[i] + ": " + e;
                }
            });
            List<Path> keptFiles = new ArrayList<>();
            List<Integer> keptLabels = new ArrayList<>();
            List<String> bad = new ArrayList<>();
            for (int i = 0; i < files.length; i++) {
                if (errors[i] == null) {
                    keptFiles.add(files[i]);
                    keptLabels.add(labels[i]);
                } else {
                    bad.add(errors[i]);
                }
            }
            if (!bad.isEmpty() && warn != null) {
                warn.accept(root + ": skipped " + bad.size() + " of " + files.length + " images that could not be decoded:");
                for (String b : bad) warn.accept("  " + b);
            }
            if (keptFiles.isEmpty()) throw new DatasetException(root + ": none of the " + files.length + " images could be decoded");
            files = keptFiles.toArray(new Path[0]);
            labels = keptLabels.stream().mapToInt(Integer::intValue).toArray();
        }
        return new ImageFolderDataset(root, List.copyOf(names), files, labels, imageSize, ch);
    }

    private static boolean hidden(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    private static boolean isImageName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    /**
     * The images under one class folder in torchvision's order: {@code sorted(os.walk(dir))} sorts
     * the folders by their path string, and each folder's files are sorted by name.
     */
    private static List<Path> listImages(Path classDir) throws IOException {
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(classDir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return !dir.equals(classDir) && hidden(dir) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() && !hidden(file) && isImageName(file.getFileName().toString())) found.add(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof FileSystemLoopException) return FileVisitResult.CONTINUE;  // a link back up: os.walk visits it once too
                throw e;
            }
        });
        found.sort(Comparator.<Path, String>comparing(p -> p.getParent().toString(), ImageFolderDataset::compareCodePoints)
                .thenComparing(p -> p.getFileName().toString(), ImageFolderDataset::compareCodePoints));
        return found;
    }

    /** Python's string order (by code point); String.compareTo orders UTF-16 units, which differs above U+FFFF. */
    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    /** Pillow's default limit on decoded pixels, against decompression bombs; DIT_MAX_IMAGE_PIXELS overrides it. */
    static final long MAX_IMAGE_PIXELS = maxImagePixels();

    private static long maxImagePixels() {
        String env = System.getenv("DIT_MAX_IMAGE_PIXELS");
        return env != null && env.matches("\\d+") ? Long.parseLong(env) : 89_478_485L;
    }

    /** Decodes after checking the size the image's header declares, so a bomb is refused before its pixels exist. */
    private static BufferedImage readBounded(Path file) throws IOException {
        try (javax.imageio.stream.ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) return null;
            java.util.Iterator<javax.imageio.ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            javax.imageio.ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w * h > MAX_IMAGE_PIXELS) {
                    throw new DatasetException(file + ": " + w + "x" + h + " pixels is more than the limit of " + MAX_IMAGE_PIXELS
                            + " (a decompression bomb?); set DIT_MAX_IMAGE_PIXELS to raise it");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        }
    }

    /** A decoded image: {@code channels} planes of width*height bytes. */
    record Decoded(byte[] planes, int width, int height) {}

    /**
     * Decodes a file to planar bytes with 1 (luminance) or 3 (RGB) channels, the bytes PIL's
     * {@code Image.open(f).convert("L" or "RGB")} gives. The message of any failure starts with the path.
     */
    static Decoded decode(Path file, int channels) throws IOException {
        BufferedImage img;
        try {
            img = readBounded(file);
        } catch (DatasetException e) {
            throw e;
        } catch (IOException | RuntimeException e) {  // decoders also throw runtime exceptions on corrupt data
            throw new DatasetException(file + ": could not be decoded as an image (" + oneLine(e) + ")", e);
        }
        if (img == null) throw new DatasetException(file + ": could not be decoded as an image (no reader recognises its format)");
        int w = img.getWidth(), h = img.getHeight(), n = w * h;
        byte[] planes = new byte[channels * n];
        ColorModel cm = img.getColorModel();
        Raster raster = img.getRaster();
        int[] row = new int[w];
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            // Gray (and gray+alpha): take the stored values. getRGB would treat them as linear light
            // and brighten them on the way to sRGB; PIL keeps the bytes as they are.
            int max = (1 << cm.getComponentSize(0)) - 1;
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = max == 255 ? row[x] : (row[x] * 255 + max / 2) / max;  // 16-bit or low-bit gray to 8 bits
                    for (int c = 0; c < channels; c++) planes[c * n + y * w + x] = (byte) v;
                }
            }
        } else {
            // Color or palette: sRGB bytes; alpha is dropped, as convert("RGB") drops it.
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x], r = argb >> 16 & 0xff, g = argb >> 8 & 0xff, b = argb & 0xff, i = y * w + x;
                    if (channels == 1) {
                        planes[i] = (byte) Pixels.luminance(r, g, b);
                    } else {
                        planes[i] = (byte) r;
                        planes[n + i] = (byte) g;
                        planes[2 * n + i] = (byte) b;
                    }
                }
            }
        }
        return new Decoded(planes, w, h);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return (m == null ? e.getClass().getSimpleName() : m).replaceAll("\\s+", " ").trim();
    }

    @Override public int size() { return files.length; }
    @Override public int channels() { return channels; }
    @Override public int imageSize() { return size; }
    @Override public int numClasses() { return classNames.size(); }
    @Override public List<String> classNames() { return classNames; }

    public Path root() { return root; }

    public Path file(int index) { return files[checkIndex(index)]; }

    @Override
    public int label(int index) {
        return labels[checkIndex(index)];
    }

    @Override
    public void read(int index, boolean flip, float[] out, int offset) throws IOException {
        Decoded d = decode(files[checkIndex(index)], channels);
        byte[] square = Resample.centerCrop(d.planes(), channels, d.width(), d.height(), size);
        Pixels.writeChw(square, 0, channels, channels, size, flip, out, offset);
    }

    @Override
    public String describe(int index) {
        return files[checkIndex(index)].toString();
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= files.length) throw new IndexOutOfBoundsException("image " + index + " of " + files.length + " in " + root);
        return index;
    }
}
