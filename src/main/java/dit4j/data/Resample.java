package dit4j.data;

/**
 * PIL-exact resampling of 8-bit planar images, and the ADM / official DiT {@code center_crop_arr}.
 *
 * <p>DiT's train.py preprocesses every image with {@code center_crop_arr} (from ADM), which calls
 * PIL's {@code Image.resize}; to train on the same pixels as the PyTorch code, this class follows
 * Pillow's {@code Resample.c} step by step: separable filtering, horizontal pass first, weights
 * rounded to 22-bit fixed point, each pass rounded and clipped to a byte. Tested against Pillow 9.4.
 *
 * <p>Images are planar: {@code channels} planes of {@code w*h} bytes, row-major, one after another.
 * Every channel is resampled alone, as PIL does for "L" and "RGB" images.
 */
public final class Resample {
    private Resample() {}

    /** A PIL resampling filter: its kernel and its support (half-width) at scale 1. */
    public enum Filter {
        /** PIL Image.BOX: 1 on (-0.5, 0.5]. Halving with it averages each 2x2 block. */
        BOX(0.5),
        /** PIL Image.BICUBIC: Keys cubic with a = -0.5. */
        BICUBIC(2.0);

        final double support;

        Filter(double support) {
            this.support = support;
        }

        double kernel(double x) {
            if (this == BOX) return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            final double a = -0.5;
            if (x < 0) x = -x;
            if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
            if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
            return 0;
        }
    }

    /** PIL's fixed point for 8-bit images: 32 bits minus 8 for the pixel minus 2 for the sign and overshoot. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** The taps of one pass: output i reads inputs start[i] .. start[i]+weights[i].length-1. */
    private static final class Taps {
        final int[] start;
        final int[][] weights;

        Taps(int[] start, int[][] weights) {
            this.start = start;
            this.weights = weights;
        }
    }

    /** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole source range. */
    private static Taps taps(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        // When shrinking, the kernel is stretched by the scale so every source pixel contributes
        // (antialiasing); when enlarging it keeps its natural width.
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        double inv = 1.0 / filterScale;
        int[] start = new int[outSize];
        int[][] weights = new int[outSize][];
        for (int o = 0; o < outSize; o++) {
            double center = (o + 0.5) * scale;  // the output pixel's center in source coordinates
            int min = Math.max(0, (int) (center - support + 0.5));  // (int) truncates toward zero, as C does
            int max = Math.min(inSize, (int) (center + support + 0.5));
            int n = max - min;
            double[] w = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++) {
                // + 0.5: the distance from the output center to source pixel (min + i)'s center
                w[i] = filter.kernel((i + min - center + 0.5) * inv);
                sum += w[i];
            }
            int[] k = new int[n];
            for (int i = 0; i < n; i++) {
                double v = sum != 0 ? w[i] / sum : w[i];  // normalised so a constant image stays constant
                k[i] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            start[o] = min;
            weights[o] = k;
        }
        return new Taps(start, weights);
    }

    /** Rounds a fixed-point sum (which already holds +0.5) to a byte, clipping the cubic's overshoot. */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /**
     * Resizes planar 8-bit images to newW x newH like PIL {@code Image.resize((newW, newH), filter)}.
     * A dimension that does not change is not filtered (PIL skips that pass too).
     */
    public static byte[] resize(byte[] planes, int channels, int w, int h, int newW, int newH, Filter filter) {
        if (w <= 0 || h <= 0 || newW <= 0 || newH <= 0) throw new IllegalArgumentException("bad sizes " + w + "x" + h + " -> " + newW + "x" + newH);
        if (planes.length < channels * w * h) throw new IllegalArgumentException("need " + channels * w * h + " bytes, got " + planes.length);
        byte[] cur = planes;
        int curW = w;
        if (newW != w) {
            Taps t = taps(w, newW, filter);
            byte[] out = new byte[channels * newW * h];
            int half = 1 << (PRECISION_BITS - 1);
            for (int row = 0; row < channels * h; row++) {  // all planes' rows in one loop
                int in = row * w, o = row * newW;
                for (int x = 0; x < newW; x++) {
                    int[] k = t.weights[x];
                    int s = in + t.start[x];
                    int acc = half;
                    for (int i = 0; i < k.length; i++) acc += (cur[s + i] & 0xff) * k[i];
                    out[o + x] = clip8(acc);
                }
            }
            cur = out;
            curW = newW;
        }
        if (newH != h) {
            Taps t = taps(h, newH, filter);
            byte[] out = new byte[channels * curW * newH];
            int half = 1 << (PRECISION_BITS - 1);
            for (int c = 0; c < channels; c++) {
                int in = c * curW * h, o = c * curW * newH;
                for (int y = 0; y < newH; y++) {
                    int[] k = t.weights[y];
                    int s = in + t.start[y] * curW;
                    for (int x = 0; x < curW; x++) {
                        int acc = half;
                        for (int i = 0; i < k.length; i++) acc += (cur[s + i * curW + x] & 0xff) * k[i];
                        out[o + y * curW + x] = clip8(acc);
                    }
                }
            }
            cur = out;
        }
        return cur;  // the input itself when neither side changes
    }

    /**
     * ADM's {@code center_crop_arr(pil_image, size)}, used by the official DiT train.py:
     * <pre>
     *   while min(w, h) >= 2 * size:  halve both sides (w//2, h//2) with BOX      # cheap, exact 2x2 means
     *   scale = size / min(w, h);     resize to (round(w*scale), round(h*scale)) with BICUBIC
     *   crop the center: y0 = (H - size) // 2, x0 = (W - size) // 2
     * </pre>
     * Returns {@code channels} planes of size x size bytes. round() is Python's, half to even.
     */
    public static byte[] centerCrop(byte[] planes, int channels, int w, int h, int size) {
        if (size <= 0) throw new IllegalArgumentException("size must be positive, got " + size);
        if (w == size && h == size) {
            return planes.length == channels * w * h ? planes : java.util.Arrays.copyOf(planes, channels * w * h);
        }
        byte[] cur = planes;
        while (Math.min(w, h) >= 2 * size) {
            cur = resize(cur, channels, w, h, w / 2, h / 2, Filter.BOX);
            w /= 2;
            h /= 2;
        }
        double scale = (double) size / Math.min(w, h);
        int nw = (int) Math.rint(w * scale), nh = (int) Math.rint(h * scale);
        cur = resize(cur, channels, w, h, nw, nh, Filter.BICUBIC);
        int y0 = (nh - size) / 2, x0 = (nw - size) / 2;  // both >= 0, so / is Python's //
        byte[] out = new byte[channels * size * size];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < size; y++) {
                System.arraycopy(cur, c * nw * nh + (y0 + y) * nw + x0, out, (c * size + y) * size, size);
            }
        }
        return out;
    }
}
