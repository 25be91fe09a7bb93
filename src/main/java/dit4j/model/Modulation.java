package dit4j.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The adaLN operations of {@code models.py} shared by the blocks and the final layer (public for the profiler). */
public final class Modulation {
    private Modulation() {}

    static final double LN_EPS = 1e-6;


    /** LayerNorm over the last dimension, without affine parameters, eps 1e-6. */
    public static Tensor layerNorm(Tensor x) {
        return torch.layer_norm(x, new long[] {x.size(-1)}, null, null, LN_EPS, true);
    }

    /** {@code x * (1 + scale) + shift}, with per-sample shift and scale broadcast over tokens, in one pass. */
    public static Tensor modulate(Tensor x, Tensor shift, Tensor scale) {
        return torch.addcmul(shift.unsqueeze(1), x, scale.add(new Scalar(1.0)).unsqueeze(1));
    }

    /** The gated residual {@code x + gate * branch}, in one pass. */
    public static Tensor gatedResidual(Tensor x, Tensor gate, Tensor branch) {
        return torch.addcmul(x, gate.unsqueeze(1), branch);
    }
}
