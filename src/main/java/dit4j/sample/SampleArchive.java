package dit4j.sample;

import dit4j.io.AtomicFiles;
import dit4j.io.Npz;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;

/**
 * {@code samples.npz} for the ADM evaluator ({@code arr_0} uint8 K x H x W x C, {@code labels}
 * int64 K) from the folder of {@code {i:06d}.png}, one image in memory at a time: 50,000 images of
 * 256x256x3 are 9.8 GB. The entries are deflate-framed without compression (their size and CRC
 * come after the data, which a stored zip entry cannot do; numpy reads both) and zip64 past 4 GB.
 * The zip's timestamps are fixed, so equal images give equal bytes.
 */
public final class SampleArchive {
    private SampleArchive() {}

    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    /** Writes {@code npz} atomically; every PNG must be there. Returns the array's shape. */
    public static long[] write(Path npz, Path dir, long[] labels) throws IOException {
        int k = labels.length;
        if (k == 0) throw new IllegalArgumentException("no images to archive");
        for (int i = 0; i < k; i++) {
            if (!Files.exists(ShardedSampling.png(dir, i))) throw new IOException(ShardedSampling.png(dir, i) + " is missing: run the sampling again to finish it");
        }
        Raster first = read(ShardedSampling.png(dir, 0)).getRaster();
        int h = first.getHeight(), w = first.getWidth(), c = first.getNumBands();
        long[] shape = {k, h, w, c};
        AtomicFiles.write(npz, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            zip.setLevel(Deflater.NO_COMPRESSION);
            zip.putNextEntry(entry("arr_0.npy"));
            zip.write(Npz.npyHeader(Npz.UINT8, shape));
            byte[] hwc = new byte[h * w * c];
            int[] samples = new int[hwc.length];
            for (int i = 0; i < k; i++) {
                Path f = ShardedSampling.png(dir, i);
                Raster r = read(f).getRaster();
                if (r.getHeight() != h || r.getWidth() != w || r.getNumBands() != c) {
                    throw new IOException(f + ": " + r.getWidth() + "x" + r.getHeight() + "x" + r.getNumBands() + ", expected " + w + "x" + h + "x" + c + " like " + ShardedSampling.png(dir, 0).getFileName());
                }
                r.getPixels(0, 0, w, h, samples);   // row-major, bands in order: HWC
                for (int j = 0; j < hwc.length; j++) hwc[j] = (byte) samples[j];
                zip.write(hwc);
            }
            zip.closeEntry();
            zip.putNextEntry(entry("labels.npy"));
            zip.write(Npz.npyHeader(Npz.INT64, new long[] {k}));
            ByteBuffer b = ByteBuffer.allocate(8 * k).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(labels);
            zip.write(b.array());
            zip.closeEntry();
            zip.finish(); // not close(): AtomicFiles owns the stream
        });
        return shape;
    }

    private static ZipEntry entry(String name) {
        ZipEntry e = new ZipEntry(name);
        e.setTimeLocal(FIXED_TIME);
        return e;
    }

    private static BufferedImage read(Path f) throws IOException {
        BufferedImage img = ImageIO.read(f.toFile());
        if (img == null) throw new IOException(f + ": not a readable PNG");
        return img;
    }
}
