package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ResampleTest {
    // Made once by scripts/pil_resample_reference.py with Debian's Pillow 9.4 (Image.resize and ADM's
    // center_crop_arr verbatim) on the images pattern(w, h, c) below; CHW order.
    static final int[] BICUBIC_7x5_TO_4x3 = {14, 83, 127, 116, 69, 139, 105, 110, 129, 149, 93, 139};
    static final int[] BICUBIC_5x4_TO_9x7 = {0, 0, 7, 24, 49, 80, 125, 195, 232, 7, 10, 19, 37, 63, 103, 134, 144, 148, 25, 31, 42, 63, 92, 145, 155, 59, 8, 41, 49, 63, 85, 117, 184, 198, 76, 9, 58, 66, 84, 109, 141, 192, 202, 111, 59, 77, 86, 107, 144, 170, 117, 73, 95, 111, 86, 96, 119, 163, 184, 71, 0, 84, 138};
    static final int[] BICUBIC_40x30_TO_7x5 = {112, 124, 141, 129, 123, 149, 130, 116, 130, 136, 128, 130, 138, 131, 128, 129, 130, 128, 126, 130, 110, 122, 129, 138, 136, 128, 141, 143, 129, 121, 134, 131, 122, 163, 136};
    static final int[] BOX_9x7_TO_4x3 = {23, 108, 111, 136, 104, 133, 130, 126, 186, 102, 128, 95};
    static final int[] CROP_RGB_23x13_TO_5 = {121, 107, 108, 139, 111, 107, 141, 138, 170, 141, 128, 188, 120, 151, 126, 119, 140, 148, 151, 151, 104, 111, 123, 136, 105, 97, 135, 131, 135, 150, 147, 114, 122, 129, 136, 133, 125, 116, 112, 124, 127, 176, 103, 112, 139, 107, 117, 159, 109, 170, 111, 114, 117, 101, 124, 141, 143, 139, 121, 109, 125, 81, 116, 149, 120, 111, 117, 135, 160, 95, 137, 169, 138, 148, 99};
    static final int[] CROP_10x15_TO_6 = {66, 138, 107, 110, 101, 170, 126, 149, 102, 120, 152, 117, 180, 97, 148, 136, 76, 163, 148, 98, 112, 89, 162, 156, 83, 118, 118, 99, 113, 158, 72, 140, 75, 136, 172, 128};
    // 6x4 -> size 3: scale 0.75, width 4.5 rounds half-to-even to 4 (half-up would give 5 and shift the crop)
    static final int[] CROP_6x4_TO_3 = {8, 49, 137, 48, 112, 136, 91, 148, 90};

    /** The script's input: (x*x*13 + y*29 + x*y*7 + c*71) % 256, planar. Its wraps make bicubic overshoot and clip. */
    static byte[] pattern(int w, int h, int channels) {
        byte[] b = new byte[channels * w * h];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) b[(c * h + y) * w + x] = (byte) ((x * x * 13 + y * 29 + x * y * 7 + c * 71) % 256);
        return b;
    }

    static int[] unsigned(byte[] b) {
        int[] r = new int[b.length];
        for (int i = 0; i < b.length; i++) r[i] = b[i] & 0xff;
        return r;
    }

    @Test
    void resizeMatchesPillow() {
        assertArrayEquals(BICUBIC_7x5_TO_4x3, unsigned(Resample.resize(pattern(7, 5, 1), 1, 7, 5, 4, 3, Resample.Filter.BICUBIC)));
        assertArrayEquals(BICUBIC_5x4_TO_9x7, unsigned(Resample.resize(pattern(5, 4, 1), 1, 5, 4, 9, 7, Resample.Filter.BICUBIC)));
        assertArrayEquals(BICUBIC_40x30_TO_7x5, unsigned(Resample.resize(pattern(40, 30, 1), 1, 40, 30, 7, 5, Resample.Filter.BICUBIC)));
        assertArrayEquals(BOX_9x7_TO_4x3, unsigned(Resample.resize(pattern(9, 7, 1), 1, 9, 7, 4, 3, Resample.Filter.BOX)));
    }

    @Test
    void centerCropMatchesAdmCenterCropArr() {
        // 23x13 -> BOX to 11x6 -> BICUBIC to 9x5 -> crop x 2..6
        assertArrayEquals(CROP_RGB_23x13_TO_5, unsigned(Resample.centerCrop(pattern(23, 13, 3), 3, 23, 13, 5)));
        assertArrayEquals(CROP_10x15_TO_6, unsigned(Resample.centerCrop(pattern(10, 15, 1), 1, 10, 15, 6)));
        assertArrayEquals(CROP_6x4_TO_3, unsigned(Resample.centerCrop(pattern(6, 4, 1), 1, 6, 4, 3)));
    }

    @Test
    void boxHalvingAveragesEach2x2Block() {
        byte[] img = {0, 2, 10, 20, 4, 6, 30, 40, 1, 2, 0, 0, 2, 2, 0, 1};  // 4x4
        // means 3 and 25; the last two show PIL's rounding after each pass (also checked with Pillow):
        // rows (1,2),(2,2) -> 2,2 -> 2; rows (0,0),(0,1) -> 0, 0.5 -> 1, then (0,1) -> 1 (the true mean 0.25 would give 0)
        assertArrayEquals(new int[] {3, 25, 2, 1}, unsigned(Resample.resize(img, 1, 4, 4, 2, 2, Resample.Filter.BOX)));
    }

    @Test
    void constantImageStaysConstant() {
        byte[] img = new byte[2 * 37 * 23];
        java.util.Arrays.fill(img, 0, 37 * 23, (byte) 200);
        java.util.Arrays.fill(img, 37 * 23, img.length, (byte) 7);
        byte[] out = Resample.centerCrop(img, 2, 37, 23, 8);  // BOX to 18x11, BICUBIC to 13x8, crop
        assertEquals(2 * 64, out.length);
        for (int i = 0; i < 64; i++) {
            assertEquals(200, out[i] & 0xff);
            assertEquals(7, out[64 + i] & 0xff);
        }
    }

    @Test
    void gradientStaysMonotone() {
        int w = 90, h = 50, s = 12;  // BOX twice (90x50 -> 45x25 -> 22x12), then a plain crop
        byte[] img = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img[y * w + x] = (byte) (x * 255 / (w - 1));
        for (int size : new int[] {s, 7, 40}) {  // also a bicubic shrink (7) and a bicubic enlargement (40)
            byte[] out = Resample.centerCrop(img, 1, w, h, size);
            for (int y = 0; y < size; y++) {
                for (int x = 1; x < size; x++) {
                    assertTrue((out[y * size + x] & 0xff) >= (out[y * size + x - 1] & 0xff), "size " + size + " row " + y + " col " + x);
                }
                assertTrue((out[y * size + size - 1] & 0xff) > (out[y * size] & 0xff) + 10 * Math.min(size, 12) / 12);
                assertArrayEquals(java.util.Arrays.copyOfRange(out, 0, size), java.util.Arrays.copyOfRange(out, y * size, y * size + size));
            }
        }
    }

    @Test
    void sameSizeIsUntouched() {
        byte[] img = pattern(5, 5, 3);
        assertArrayEquals(img, Resample.centerCrop(img, 3, 5, 5, 5));
    }
}
