package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
    @TempDir
    Path tmp;

    @Test
    void uint8ConversionMatchesOfficialFormula() {
        // clamp(127.5 x + 128, 0, 255) truncated: -1 -> 0.5 -> 0, 0 -> 128, 1 -> 255.5 -> 255,
        // -0.5 -> 64.25 -> 64, 0.999 -> 255.37 -> 255, 0.99 -> 254.225 -> 254, out of range clamps.
        float[] x = {-1f, 0f, 1f, -0.5f, 0.999f, 0.99f, -7f, 3f, Float.NaN};
        byte[] u = Images.toUint8HWC(x, 1, 1, x.length);
        int[] want = {0, 128, 255, 64, 255, 254, 0, 255, 0};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], u[i] & 0xFF, "x = " + x[i]);
    }

    @Test
    void uint8ConversionReordersChwToHwc() {
        // 3 channels, 1x2 pixels: channel planes R = (-1, 1), G = (0, 0), B = (1, -1)
        float[] chw = {-1f, 1f, 0f, 0f, 1f, -1f};
        byte[] hwc = Images.toUint8HWC(chw, 3, 1, 2);
        assertArrayEquals(new byte[] {0, (byte) 128, (byte) 255, (byte) 255, (byte) 128, 0}, hwc);
        assertThrows(IllegalArgumentException.class, () -> Images.toUint8HWC(chw, 3, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Images.toUint8HWC(new float[8], 2, 2, 2));
    }

    @Test
    void rgbPngRoundTripKeepsPixelsAndText() throws Exception {
        byte[] hwc = new byte[3 * 4 * 5];
        for (int i = 0; i < hwc.length; i++) hwc[i] = (byte) (i * 37);
        BufferedImage img = Images.toImage(hwc, 3, 4, 5);
        Map<String, String> text = new LinkedHashMap<>();
        text.put("dit4j.class", "207");
        text.put("dit4j.seed", "0");
        text.put("parameters", "{\"cfg\": 4.0, \"model\": \"DiT-XL/2\", \"note\": \"ünïcode ✓\"}");
        Path f = tmp.resolve("a.png");
        Images.writePng(f, img, text);
        assertEquals(text, Images.readPngText(f));
        BufferedImage back = ImageIO.read(f.toFile());
        assertEquals(5, back.getWidth());
        assertEquals(4, back.getHeight());
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                int p = (y * 5 + x) * 3;
                int want = (hwc[p] & 0xFF) << 16 | (hwc[p + 1] & 0xFF) << 8 | (hwc[p + 2] & 0xFF);
                assertEquals(want, back.getRGB(x, y) & 0xFFFFFF, "pixel " + x + "," + y);
            }
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void grayPngRoundTripKeepsExactValues() throws Exception {
        byte[] hwc = {0, 1, (byte) 127, (byte) 128, (byte) 200, (byte) 255};
        BufferedImage img = Images.toImage(hwc, 1, 2, 3);
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
        Path f = tmp.resolve("g.png");
        Images.writePng(f, img, Map.of());
        BufferedImage back = ImageIO.read(f.toFile());
        assertEquals(1, back.getRaster().getNumBands());
        int[] samples = back.getRaster().getSamples(0, 0, 3, 2, 0, (int[]) null);
        for (int i = 0; i < hwc.length; i++) assertEquals(hwc[i] & 0xFF, samples[i]);
        assertTrue(Images.readPngText(f).isEmpty());
    }

    @Test
    void gridLaysOutLikeMakeGrid() {
        List<BufferedImage> imgs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            byte[] px = new byte[3 * 4 * 6];
            for (int p = 0; p < px.length; p += 3) {
                px[p] = (byte) (10 * i + 1);
                px[p + 1] = (byte) (10 * i + 2);
                px[p + 2] = (byte) (10 * i + 3);
            }
            imgs.add(Images.toImage(px, 3, 4, 6));
        }
        // 5 images of 6x4, 3 columns -> 2 rows; padding 2: width 3*(6+2)+2, height 2*(4+2)+2
        BufferedImage g = Images.grid(imgs, 3);
        assertEquals(26, g.getWidth());
        assertEquals(14, g.getHeight());
        // image 4 is row 1, column 1: top-left at (2 + 8, 2 + 6)
        assertEquals(41 << 16 | 42 << 8 | 43, g.getRGB(10, 8) & 0xFFFFFF);
        assertEquals(41 << 16 | 42 << 8 | 43, g.getRGB(15, 11) & 0xFFFFFF);
        assertEquals(0, g.getRGB(16, 8) & 0xFFFFFF, "padding between columns is black");
        assertEquals(0, g.getRGB(20, 10) & 0xFFFFFF, "the missing sixth cell is black");
        assertEquals(1 << 16 | 2 << 8 | 3, g.getRGB(2, 2) & 0xFFFFFF);
        assertEquals(0, g.getRGB(1, 2) & 0xFFFFFF);
        // fewer images than columns: the grid is only as wide as the images
        assertEquals(2 * 8 + 2, Images.grid(imgs.subList(0, 2), 8).getWidth());
    }

    @Test
    void grayGridStaysGrayAndExact() {
        BufferedImage a = Images.toImage(new byte[] {(byte) 100, (byte) 100, (byte) 100, (byte) 100}, 1, 2, 2);
        BufferedImage b = Images.toImage(new byte[] {(byte) 200, (byte) 200, (byte) 200, (byte) 200}, 1, 2, 2);
        BufferedImage g = Images.grid(List.of(a, b), 1, 1);
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, g.getType());
        assertEquals(4, g.getWidth());
        assertEquals(7, g.getHeight());
        assertEquals(200, g.getRaster().getSample(1, 4, 0));
        assertEquals(100, g.getRaster().getSample(2, 2, 0));
        // mixing gray and RGB gives RGB with the gray value in every channel
        BufferedImage c = Images.toImage(new byte[12], 3, 2, 2);
        BufferedImage mixed = Images.grid(List.of(a, c), 2, 0);
        assertEquals(100 << 16 | 100 << 8 | 100, mixed.getRGB(0, 0) & 0xFFFFFF);
        assertThrows(IllegalArgumentException.class, () -> Images.grid(List.of(a, Images.toImage(new byte[9], 1, 3, 3)), 2, 2));
    }

    @Test
    void labelRowsAddsMarginWithText() {
        List<BufferedImage> imgs = new ArrayList<>();
        for (int i = 0; i < 4; i++) imgs.add(Images.toImage(new byte[3 * 32 * 32], 3, 32, 32));
        BufferedImage g = Images.grid(imgs, 2);
        BufferedImage labelled = Images.labelRows(g, List.of("0: T-shirt", "9: ankle boot"), 34);
        assertEquals(g.getHeight(), labelled.getHeight());
        int margin = labelled.getWidth() - g.getWidth();
        assertTrue(margin > 20, "margin " + margin);
        assertTrue(lit(labelled, 0, margin, 2, 36) > 0, "first label drawn in row 0");
        assertTrue(lit(labelled, 0, margin, 36, 70) > 0, "second label drawn in row 1");
        assertEquals(0, lit(labelled, margin, labelled.getWidth(), 0, labelled.getHeight()), "grid itself untouched");
        assertThrows(IllegalArgumentException.class, () -> Images.labelRows(g, List.of("a", "b", "c"), 34));
    }

    private static int lit(BufferedImage img, int x0, int x1, int y0, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) if ((img.getRGB(x, y) & 0xFFFFFF) != 0) n++;
        return n;
    }
}
