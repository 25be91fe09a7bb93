package dit4j.io;

import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.Node;

/**
 * Images as the pipeline holds them (float CHW in [-1, 1], 1 or 3 channels) turned into 8-bit
 * pictures, PNG files with text metadata, and sample grids.
 *
 * <p>Pixels are copied through rasters, never through {@code getRGB} on grayscale images: Java's
 * gray colour space is linear, so {@code getRGB} and {@code drawImage} would gamma-shift gray values.
 */
public final class Images {
    private Images() {}

    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

    /**
     * The official conversion, {@code clamp(127.5 * x + 128, 0, 255)} truncated to uint8, as
     * DiT's sample_ddp.py does it (float32 arithmetic, multiply then add), reordered CHW to HWC.
     * NaN becomes 0.
     */
    public static byte[] toUint8HWC(float[] chw, int c, int h, int w) {
        checkShape(chw.length, c, h, w);
        byte[] hwc = new byte[c * h * w];
        int plane = h * w;
        for (int ch = 0; ch < c; ch++) {
            for (int p = 0; p < plane; p++) {
                float v = 127.5f * chw[ch * plane + p];
                v = v + 128.0f;
                v = Math.min(Math.max(v, 0f), 255f);
                hwc[p * c + ch] = (byte) (int) v; // (int) NaN == 0
            }
        }
        return hwc;
    }

    /** A BufferedImage over HWC uint8 pixels: TYPE_BYTE_GRAY for 1 channel, TYPE_3BYTE_BGR (RGB input) for 3. */
    public static BufferedImage toImage(byte[] hwc, int c, int h, int w) {
        checkShape(hwc.length, c, h, w);
        BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        if (c == 1) {
            System.arraycopy(hwc, 0, dst, 0, hwc.length);
        } else {
            for (int i = 0; i < hwc.length; i += 3) {
                dst[i] = hwc[i + 2];
                dst[i + 1] = hwc[i + 1];
                dst[i + 2] = hwc[i];
            }
        }
        return img;
    }

    private static void checkShape(int length, int c, int h, int w) {
        if (c != 1 && c != 3) throw new IllegalArgumentException("images must have 1 or 3 channels, not " + c);
        if (h <= 0 || w <= 0) throw new IllegalArgumentException("image size must be positive, not " + h + "x" + w);
        if ((long) c * h * w != length) throw new IllegalArgumentException("expected " + c + "x" + h + "x" + w + " = " + ((long) c * h * w) + " values, got " + length);
    }

    /**
     * Writes a PNG with one text chunk per entry (tEXt when the value is Latin-1, else UTF-8 iTXt),
     * atomically. Keywords must be 1-79 printable Latin-1 characters, as PNG requires.
     */
    public static void writePng(Path file, BufferedImage img, Map<String, String> text) throws IOException {
        AtomicFiles.write(file, out -> encodePng(img, text, out));
    }

    /** The bytes {@link #writePng} would write, for sending rather than saving. */
    public static byte[] png(BufferedImage img, Map<String, String> text) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            encodePng(img, text, out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void encodePng(BufferedImage img, Map<String, String> text, java.io.OutputStream out) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IOException("no PNG writer in this JDK");
        ImageWriter writer = writers.next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
            if (text != null && !text.isEmpty()) meta.mergeTree(PNG_FORMAT, textTree(text));
            MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out);
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, meta), param);
            ios.close(); // flushes into out; does not close it
        } finally {
            writer.dispose();
        }
    }

    private static IIOMetadataNode textTree(Map<String, String> text) throws IIOInvalidTreeException {
        IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
        IIOMetadataNode tEXt = new IIOMetadataNode("tEXt");
        IIOMetadataNode iTXt = new IIOMetadataNode("iTXt");
        for (Map.Entry<String, String> e : text.entrySet()) {
            String key = e.getKey(), value = e.getValue() == null ? "" : e.getValue();
            checkKeyword(key);
            if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
                IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                entry.setAttribute("keyword", key);
                entry.setAttribute("value", value);
                tEXt.appendChild(entry);
            } else {
                IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                entry.setAttribute("keyword", key);
                entry.setAttribute("compressionFlag", "FALSE");
                entry.setAttribute("compressionMethod", "0");
                entry.setAttribute("languageTag", "");
                entry.setAttribute("translatedKeyword", "");
                entry.setAttribute("text", value);
                iTXt.appendChild(entry);
            }
        }
        if (tEXt.getLength() > 0) root.appendChild(tEXt);
        if (iTXt.getLength() > 0) root.appendChild(iTXt);
        return root;
    }

    private static void checkKeyword(String key) {
        boolean ok = key != null && !key.isEmpty() && key.length() <= 79;
        for (int i = 0; ok && i < key.length(); i++) {
            char ch = key.charAt(i);
            ok = (ch >= 32 && ch <= 126) || (ch >= 161 && ch <= 255);
        }
        if (!ok) throw new IllegalArgumentException("PNG text keyword must be 1-79 printable Latin-1 characters: '" + key + "'");
    }

    /** The text chunks (tEXt, zTXt, iTXt) of a PNG, in file order. */
    public static Map<String, String> readPngText(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new IOException(file + ": cannot open");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            ImageReader reader = null;
            while (readers.hasNext()) {
                ImageReader r = readers.next();
                if (r.getFormatName().equalsIgnoreCase("png")) reader = r;
            }
            if (reader == null) throw new IOException(file + ": not a PNG file");
            try {
                reader.setInput(in, true, false);
                Node root = reader.getImageMetadata(0).getAsTree(PNG_FORMAT);
                Map<String, String> text = new LinkedHashMap<>();
                for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                    String valueAttr = switch (chunk.getNodeName()) {
                        case "tEXt", "zTXt" -> "value";
                        case "iTXt" -> "text";
                        default -> null;
                    };
                    if (valueAttr == null) continue;
                    for (Node e = chunk.getFirstChild(); e != null; e = e.getNextSibling()) {
                        IIOMetadataNode entry = (IIOMetadataNode) e;
                        text.put(entry.getAttribute("keyword"), entry.getAttribute(valueAttr));
                    }
                }
                return text;
            } finally {
                reader.dispose();
            }
        }
    }

    /**
     * A torchvision make_grid layout: equal-sized images, {@code columns} per row filled left to
     * right, {@code padding} black pixels around and between them. Gray if every image is gray.
     */
    public static BufferedImage grid(List<BufferedImage> images, int columns, int padding) {
        if (images.isEmpty()) throw new IllegalArgumentException("grid needs at least one image");
        if (columns <= 0 || padding < 0) throw new IllegalArgumentException("grid needs columns > 0 and padding >= 0, got " + columns + " and " + padding);
        int w = images.get(0).getWidth(), h = images.get(0).getHeight();
        boolean gray = true;
        for (BufferedImage img : images) {
            if (img.getWidth() != w || img.getHeight() != h) {
                throw new IllegalArgumentException("grid images must all be " + w + "x" + h + ", found " + img.getWidth() + "x" + img.getHeight());
            }
            gray &= isGray(img);
        }
        int cols = Math.min(columns, images.size());
        int rows = (images.size() + cols - 1) / cols;
        BufferedImage out = new BufferedImage(cols * (w + padding) + padding, rows * (h + padding) + padding,
                gray ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR); // zero-filled: black padding
        for (int i = 0; i < images.size(); i++) {
            copyInto(out, images.get(i), padding + (i % cols) * (w + padding), padding + (i / cols) * (h + padding));
        }
        return out;
    }

    /** Grid with the default torchvision padding of 2 pixels. */
    public static BufferedImage grid(List<BufferedImage> images, int columns) {
        return grid(images, columns, 2);
    }

    /**
     * Adds a black left margin with one white label per row of {@code rowHeight} pixels (for a
     * grid, image height + padding), so a reader can tell which class each row shows.
     */
    public static BufferedImage labelRows(BufferedImage grid, List<String> rowLabels, int rowHeight) {
        if (rowHeight <= 0) throw new IllegalArgumentException("rowHeight must be positive, not " + rowHeight);
        if ((long) rowLabels.size() * rowHeight > grid.getHeight()) {
            throw new IllegalArgumentException(rowLabels.size() + " rows of " + rowHeight + " px do not fit an image " + grid.getHeight() + " px high");
        }
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D pg = probe.createGraphics();
        // Shrink the default font only when a row is too short for it.
        float size = Math.min(pg.getFont().getSize2D(), Math.max(6f, rowHeight * 0.8f));
        pg.setFont(pg.getFont().deriveFont(size));
        FontMetrics fm = pg.getFontMetrics();
        int textWidth = 0;
        for (String label : rowLabels) textWidth = Math.max(textWidth, fm.stringWidth(label));
        pg.dispose();
        int margin = textWidth + 8;

        boolean gray = isGray(grid);
        BufferedImage out = new BufferedImage(grid.getWidth() + margin, grid.getHeight(), gray ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        copyInto(out, grid, margin, 0);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(g.getFont().deriveFont(size));
            g.setColor(Color.WHITE);
            FontMetrics m = g.getFontMetrics();
            // A grid is rows * rowHeight plus one padding, so the remainder is the padding; the images of row i
            // span [i * rowHeight + pad, (i + 1) * rowHeight).
            int pad = grid.getHeight() % rowHeight;
            for (int i = 0; i < rowLabels.size(); i++) {
                int centre = i * rowHeight + (rowHeight + pad) / 2;
                g.drawString(rowLabels.get(i), 4, centre + (m.getAscent() - m.getDescent()) / 2);
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    private static boolean isGray(BufferedImage img) {
        return img.getType() == BufferedImage.TYPE_BYTE_GRAY;
    }

    /** Copies src's pixels to (x, y) of dst, which is TYPE_BYTE_GRAY or TYPE_3BYTE_BGR. */
    private static void copyInto(BufferedImage dst, BufferedImage src, int x, int y) {
        int w = src.getWidth(), h = src.getHeight();
        if (isGray(dst)) {
            dst.getRaster().setSamples(x, y, w, h, 0, src.getRaster().getSamples(0, 0, w, h, 0, (int[]) null));
        } else if (isGray(src)) {
            int[] v = src.getRaster().getSamples(0, 0, w, h, 0, (int[]) null);
            for (int b = 0; b < 3; b++) dst.getRaster().setSamples(x, y, w, h, b, v);
        } else {
            dst.setRGB(x, y, w, h, src.getRGB(0, 0, w, h, null, 0, w), 0, w);
        }
    }
}
