package dit4j.model;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * 2-D rotary position embedding on queries and keys, as Hunyuan-DiT's
 * {@code get_2d_rotary_pos_embed(head_dim, grid, use_real=True)} and {@code apply_rotary_emb}:
 * consecutive pairs of a head's dimensions rotate by {@code pos * theta^(-2k / (head_dim/2))},
 * the first half of the head with the patch column, the second half with the row, theta 10000.
 * Attention then depends on relative positions only, so no table ties the weights to one grid.
 *
 * <p>Tokens after the grid (the in-context t and y tokens) are not rotated.
 */
public final class Rope {
    static final double THETA = 10000;
    /** (tokens, head_dim) tables on the model's device; created with the model, outside any scope. */
    Tensor cos, sin;

    Rope(int headDim, int grid, int extraTokens) {
        int n = grid * grid + extraTokens, half = headDim / 2;
        float[] c = new float[n * headDim], s = new float[n * headDim];
        java.util.Arrays.fill(c, 1f);
        for (int row = 0; row < grid; row++) {
            for (int col = 0; col < grid; col++) {
                int base = (row * grid + col) * headDim;
                for (int i = 0; i < headDim; i++) {
                    int k = (i % half) / 2; // the pair's frequency index within its half
                    float freq = (float) (1.0 / Math.pow(THETA, (2.0 * k) / half));
                    float angle = (i < half ? col : row) * freq; // float32, as the reference's torch.outer
                    c[base + i] = (float) Math.cos(angle);
                    s[base + i] = (float) Math.sin(angle);
                }
            }
        }
        cos = Tensors.floats(c, n, headDim);
        sin = Tensors.floats(s, n, headDim);
    }

    /** Moves the tables along with the model ({@link DiT#moveTo}): they are no parameters, so {@code Module.to} leaves them. */
    void moveTo(org.bytedeco.pytorch.Device device) {
        cos = dit4j.runtime.Devices.to(cos, device);
        sin = dit4j.runtime.Devices.to(sin, device);
    }

    /** {@code x cos + rotate_half(x) sin} for (B, heads, N, head_dim) x, where rotate_half maps each pair (a, b) to (-b, a). */
    public Tensor apply(Tensor x) {
        long[] shape = Tensors.shape(x);
        TensorVector pairs = x.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2).unbind(-1);
        Tensor a = pairs.get(0), b = pairs.get(1);
        Tensor rotated = torch.stack(new TensorVector(b.neg(), a), -1).flatten(-2, -1);
        return torch.addcmul(x.mul(cos), rotated, sin);
    }
}
