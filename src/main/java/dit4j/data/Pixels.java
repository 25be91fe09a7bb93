package dit4j.data;

/** Byte-pixel helpers shared by the readers: channel conversion and the final float conversion. */
final class Pixels {
    private Pixels() {}

    /**
     * v -> v/127.5 - 1: torchvision's ToTensor (v/255) followed by Normalize(mean=0.5, std=0.5),
     * which is what the official DiT train.py applies. A table, so reads do no division.
     */
    private static final float[] TO_FLOAT = new float[256];

    static {
        for (int v = 0; v < 256; v++) TO_FLOAT[v] = (float) (v / 127.5 - 1.0);
    }

    static float toFloat(byte b) {
        return TO_FLOAT[b & 0xff];
    }

    /**
     * ITU-R 601 luminance 0.299 R + 0.587 G + 0.114 B in PIL's fixed point (Convert.c, L24), so
     * that an RGB image converted here matches {@code Image.convert("L")} to the byte.
     */
    static int luminance(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    /** Planar RGB (3 planes of n bytes) to one luminance plane. */
    static byte[] rgbToGray(byte[] rgb, int rgbOffset, int n) {
        byte[] gray = new byte[n];
        for (int i = 0; i < n; i++) {
            int r = rgb[rgbOffset + i] & 0xff, g = rgb[rgbOffset + n + i] & 0xff, b = rgb[rgbOffset + 2 * n + i] & 0xff;
            gray[i] = (byte) luminance(r, g, b);
        }
        return gray;
    }

    /**
     * Writes {@code outChannels} planes of s*s floats to out[offset..]. The source has
     * {@code inChannels} planes; one gray plane is replicated when 3 are asked for (what
     * PIL's convert("RGB") does to an "L" image). Mirroring happens here, after the crop, as
     * torchvision's RandomHorizontalFlip does after center_crop_arr.
     */
    static void writeChw(byte[] planes, int planesOffset, int inChannels, int outChannels, int s, boolean flip, float[] out, int offset) {
        if (inChannels != outChannels && inChannels != 1) throw new IllegalArgumentException("cannot write " + inChannels + " planes as " + outChannels);
        int plane = s * s;
        if (offset < 0 || offset + outChannels * plane > out.length) {
            throw new IndexOutOfBoundsException("out has " + out.length + " floats; image needs " + outChannels * plane + " at offset " + offset);
        }
        for (int c = 0; c < outChannels; c++) {
            int src = planesOffset + (inChannels == 1 ? 0 : c * plane);
            int dst = offset + c * plane;
            for (int y = 0; y < s; y++) {
                int row = src + y * s, o = dst + y * s;
                if (flip) {
                    for (int x = 0; x < s; x++) out[o + x] = TO_FLOAT[planes[row + s - 1 - x] & 0xff];
                } else {
                    for (int x = 0; x < s; x++) out[o + x] = TO_FLOAT[planes[row + x] & 0xff];
                }
            }
        }
    }
}
