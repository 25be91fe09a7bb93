package dit4j.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code nn.LayerNorm(dim, eps=1e-6, elementwise_affine=affine)} or its RMSNorm counterpart
 * ({@code x / sqrt(mean(x^2) + eps) * weight}, timm's {@code RmsNorm}). Without affine it holds no
 * parameters, so the adaLN blocks' norm1/norm2 leave the state dict as the official one.
 */
public final class Norm extends Module {
    public final Tensor weight;
    public final Tensor bias;
    private final Arch.NormKind kind;
    private final long[] shape;
    private final TensorOptional weightOpt, biasOpt;

    public Norm(Arch.NormKind kind, int dim, boolean affine) {
        this.kind = kind;
        this.shape = new long[] {dim};
        // Keep the handles created here: register_parameter returns a reference owned by nobody.
        weight = affine ? torch.ones(dim) : null;
        bias = affine && kind == Arch.NormKind.LAYERNORM ? torch.zeros(dim) : null;
        if (weight != null) register_parameter("weight", weight);
        if (bias != null) register_parameter("bias", bias);
        weightOpt = weight != null ? new TensorOptional(weight) : new TensorOptional();
        biasOpt = bias != null ? new TensorOptional(bias) : new TensorOptional();
    }

    public Tensor forward(Tensor x) {
        return kind == Arch.NormKind.LAYERNORM
                ? torch.layer_norm(x, shape, weightOpt, biasOpt, Modulation.LN_EPS, true)
                : torch.rms_norm(x, shape, weightOpt, new DoubleOptional(Modulation.LN_EPS));
    }

    /** nn.LayerNorm's own init, which the official {@code _basic_init} leaves alone. */
    void initialize() {
        if (weight != null) weight.fill_(new org.bytedeco.pytorch.Scalar(1.0));
        if (bias != null) bias.zero_();
    }
}
