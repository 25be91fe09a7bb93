package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A transformer block of a DiT, of one of the paper's conditioning designs. */
public abstract class Block extends Module {
    /**
     * @param x (N, T, D) tokens
     * @param c the conditioning {@link DiT#conditioning} returns: the (N, D) vector t + y for the
     *     adaLN designs, the (N, 2, D) sequence [t, y] for cross-attention; in-context blocks ignore it
     */
    public abstract Tensor forward(Tensor x, Tensor c);

    abstract void initialize(Generator g);

    /** The block of the configuration's design. */
    static Block of(DiTConfig config, Rope rope) {
        int d = config.hiddenSize(), heads = config.numHeads(), m = config.mlpHidden();
        Arch a = config.arch();
        return switch (a.block()) {
            case ADALN_ZERO -> new DiTBlock(d, heads, m, a, rope);
            case ADALN -> new AdaLNBlock(d, heads, m, a, rope);
            case CROSS_ATTENTION -> new CrossAttentionBlock(d, heads, m, a, rope);
            case IN_CONTEXT -> new ViTBlock(d, heads, m, a, rope);
        };
    }
}
