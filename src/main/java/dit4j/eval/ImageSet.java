package dit4j.eval;

import dit4j.io.CheckpointException;
import dit4j.io.Npz;
import dit4j.runtime.Tensors;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A set of images to evaluate, read batch by batch: an {@code .npz} batch ({@code arr_0} uint8
 * [N,H,W,3], streamed from the archive, stored or deflated, with optional precomputed
 * {@code mu}/{@code sigma}/{@code mu_s}/{@code sigma_s}), a folder of images, or a statistics-only
 * {@code .npz} ({@code mu}, {@code sigma}, as pytorch-fid's {@code --save-stats} writes).
 */
public abstract class ImageSet implements AutoCloseable {
    final Path path;
    /** Precomputed statistics from the file, or null. */
    Frechet.Stats pool, spatial;

    ImageSet(Path path) {
        this.path = path;
    }

    public Path path() {
        return path;
    }

    /** Number of images; 0 for statistics only. */
    public abstract long count();

    /** The next at most {@code n} images as uint8 [b,H,W,3], or null at the end. Call inside a Step. */
    public abstract Tensor next(int n) throws IOException;

    public boolean hasImages() {
        return count() > 0;
    }

    public Frechet.Stats poolStats() {
        return pool;
    }

    public Frechet.Stats spatialStats() {
        return spatial;
    }

    @Override
    public void close() throws IOException {}

    private static final Set<String> IMAGE_EXTENSIONS = Set.of("bmp", "jpg", "jpeg", "png", "gif", "tif", "tiff", "webp", "pgm", "ppm");

    public static ImageSet open(Path path) throws IOException {
        if (Files.isDirectory(path)) return new Folder(path);
        if (!Files.isRegularFile(path)) throw new CheckpointException(path + ": no such .npz file or image folder");
        return new NpzBatch(path);
    }

    /** {@code arr_0} of an .npz, streamed. */
    static final class NpzBatch extends ImageSet {
        private final ZipFile zip;
        private InputStream in;
        private long n, done;
        private int h, w;

        NpzBatch(Path path) throws IOException {
            super(path);
            try {
                zip = new ZipFile(path.toFile());
            } catch (ZipException e) {
                throw new CheckpointException(path + ": not an .npz file (not a zip archive)");
            }
            try {
                Frechet.Stats[] s = {stats("mu", "sigma"), stats("mu_s", "sigma_s")};
                pool = s[0];
                spatial = s[1];
                ZipEntry arr = zip.getEntry("arr_0.npy");
                if (arr == null) {
                    if (pool == null) throw new CheckpointException(path + ": has no 'arr_0' (images, uint8 [N,H,W,3]) and no 'mu'/'sigma' statistics");
                    return;
                }
                in = zip.getInputStream(arr);
                Npz.Header hd = Npz.readHeader(in, path + ":arr_0.npy");
                long[] s4 = hd.shape();
                if (!hd.dtype().equals(Npz.UINT8) || s4.length != 4 || s4[3] != 3) {
                    throw new CheckpointException(path + ": 'arr_0' is " + hd.dtype() + " " + Tensors.shapeString(s4) + ", expected uint8 [N,H,W,3] images");
                }
                n = s4[0];
                h = Math.toIntExact(s4[1]);
                w = Math.toIntExact(s4[2]);
                if (n == 0) throw new CheckpointException(path + ": 'arr_0' holds no images");
            } catch (IOException | RuntimeException e) {
                zip.close();
                throw e;
            }
        }

        private Frechet.Stats stats(String muKey, String sigmaKey) throws IOException {
            ZipEntry m = zip.getEntry(muKey + ".npy"), s = zip.getEntry(sigmaKey + ".npy");
            if (m == null || s == null) return null;
            Tensor mu = array(m, muKey), sigma = array(s, sigmaKey);
            if (mu.dim() != 1 || sigma.dim() != 2 || sigma.size(0) != mu.size(0) || sigma.size(1) != mu.size(0)) {
                throw new CheckpointException(path + ": '" + muKey + "' " + Tensors.shapeString(mu) + " and '" + sigmaKey + "' " + Tensors.shapeString(sigma) + " are not a [D] mean and a [D,D] covariance");
            }
            return new Frechet.Stats(mu, sigma);
        }

        private Tensor array(ZipEntry e, String key) throws IOException {
            try (InputStream s = zip.getInputStream(e)) {
                Npz.Header hd = Npz.readHeader(s, path + ":" + e.getName());
                if (!hd.dtype().equals(Npz.FLOAT64) && !hd.dtype().equals(Npz.FLOAT32)) {
                    throw new CheckpointException(path + ": '" + key + "' is " + hd.dtype() + ", expected float64 or float32");
                }
                long bytes = hd.count() * hd.itemSize();
                if (bytes > Integer.MAX_VALUE - 8) throw new CheckpointException(path + ": '" + key + "' is too large");
                byte[] data = s.readNBytes((int) bytes);
                if (data.length < bytes) throw new CheckpointException(path + ": '" + key + "' is truncated");
                ScalarType t = hd.dtype().equals(Npz.FLOAT64) ? ScalarType.Double : ScalarType.Float;
                Tensor out = Tensors.fromBytes(t, hd.shape(), data).to(ScalarType.Double);
                return out;
            }
        }

        private byte[] buffer;

        @Override
        public long count() {
            return n;
        }

        @Override
        public Tensor next(int max) throws IOException {
            if (done >= n) return null;
            int b = (int) Math.min(max, n - done);
            int len = Math.multiplyExact(b, h * w * 3);
            // One buffer for every batch: a new ~10 MB array per batch is garbage the heap holds on to
            // until a full collection (hundreds of MB of resident memory over a 10,000-image batch).
            if (buffer == null || buffer.length < len) buffer = new byte[len];
            if (in.readNBytes(buffer, 0, len) < len) throw new CheckpointException(path + ": 'arr_0' is truncated after " + done + " of " + n + " images");
            done += b;
            return Tensors.fromBytes(ScalarType.Byte, new long[] {b, h, w, 3}, buffer, len);
        }

        @Override
        public void close() throws IOException {
            zip.close();
        }
    }

    /** The images directly in a folder (as pytorch-fid globs them), in name order; consecutive images of one size share a batch. */
    static final class Folder extends ImageSet {
        private final List<Path> files;
        private int next;
        private Decoded pending;

        Folder(Path dir) throws IOException {
            super(dir);
            try (Stream<Path> s = Files.list(dir)) {
                files = new ArrayList<>(s.filter(p -> Files.isRegularFile(p) && isImage(p)).sorted().toList());
            }
            if (files.isEmpty()) throw new CheckpointException(dir + ": no images (" + String.join(", ", IMAGE_EXTENSIONS.stream().sorted().toList()) + ") in the folder");
        }

        private static boolean isImage(Path p) {
            String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
            int dot = n.lastIndexOf('.');
            return dot > 0 && !n.startsWith(".") && IMAGE_EXTENSIONS.contains(n.substring(dot + 1));
        }

        @Override
        public long count() {
            return files.size();
        }

        @Override
        public Tensor next(int max) throws IOException {
            List<Decoded> batch = new ArrayList<>();
            if (pending != null) {
                batch.add(pending);
                pending = null;
            }
            while (batch.size() < max && next < files.size()) {
                Decoded d = decode(files.get(next++));
                if (!batch.isEmpty() && (d.h != batch.get(0).h || d.w != batch.get(0).w)) {
                    pending = d;
                    break;
                }
                batch.add(d);
            }
            if (batch.isEmpty()) return null;
            int h = batch.get(0).h, w = batch.get(0).w, size = h * w * 3;
            byte[] all = new byte[Math.multiplyExact(batch.size(), size)];
            for (int i = 0; i < batch.size(); i++) System.arraycopy(batch.get(i).rgb, 0, all, i * size, size);
            return Tensors.fromBytes(ScalarType.Byte, new long[] {batch.size(), h, w, 3}, all);
        }

        private record Decoded(byte[] rgb, int h, int w) {}

        /** RGB bytes as PIL's {@code convert('RGB')} gives them: alpha dropped, gray replicated. */
        private static Decoded decode(Path file) throws IOException {
            BufferedImage img;
            try {
                img = ImageIO.read(file.toFile());
            } catch (IOException | RuntimeException e) {
                throw new CheckpointException(file + ": cannot decode the image (" + e.getMessage() + ")");
            }
            if (img == null) throw new CheckpointException(file + ": not an image format Java can read");
            int w = img.getWidth(), h = img.getHeight();
            byte[] out = new byte[h * w * 3];
            Raster r = img.getRaster();
            boolean direct = img.getColorModel() instanceof java.awt.image.ComponentColorModel && r.getSampleModel().getSampleSize(0) == 8;
            int bands = r.getNumBands();
            int[] px = new int[bands];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    if (direct && (bands == 1 || bands == 2)) {
                        r.getPixel(x, y, px);
                        out[o] = out[o + 1] = out[o + 2] = (byte) px[0];
                    } else if (direct && bands >= 3) {
                        r.getPixel(x, y, px);
                        out[o] = (byte) px[0];
                        out[o + 1] = (byte) px[1];
                        out[o + 2] = (byte) px[2];
                    } else {
                        int argb = img.getRGB(x, y);
                        out[o] = (byte) (argb >> 16);
                        out[o + 1] = (byte) (argb >> 8);
                        out[o + 2] = (byte) argb;
                    }
                }
            }
            return new Decoded(out, h, w);
        }
    }
}
