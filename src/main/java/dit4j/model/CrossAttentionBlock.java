package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * The paper's cross-attention block: a ViT block with a multi-head cross-attention to the
 * length-2 sequence [t, y] between self-attention and the MLP, each sublayer pre-norm with an
 * affine norm.
 */
public final class CrossAttentionBlock extends Block {
    public final Norm norm1;
    public final Attention attn;
    public final Norm norm2;
    public final CrossAttention cross_attn;
    public final Norm norm3;
    public final FeedForward mlp;

    CrossAttentionBlock(int hidden, int numHeads, int mlpHidden, Arch arch, Rope rope) {
        norm1 = register_module("norm1", new Norm(arch.norm(), hidden, true));
        attn = register_module("attn", new Attention(hidden, numHeads, arch.qkNorm(), rope));
        norm2 = register_module("norm2", new Norm(arch.norm(), hidden, true));
        cross_attn = register_module("cross_attn", new CrossAttention(hidden, numHeads));
        norm3 = register_module("norm3", new Norm(arch.norm(), hidden, true));
        mlp = FeedForward.register(this, arch.mlp(), hidden, mlpHidden);
    }

    /** @param c (N, 2, D): the t and y embeddings as a sequence */
    @Override
    public Tensor forward(Tensor x, Tensor c) {
        x = x.add(attn.forward(norm1.forward(x)));
        x = x.add(cross_attn.forward(norm2.forward(x), c));
        x = x.add(mlp.forward(norm3.forward(x)));
        return x;
    }

    @Override
    void initialize(Generator g) {
        norm1.initialize();
        attn.initialize(g);
        norm2.initialize();
        cross_attn.initialize(g);
        norm3.initialize();
        mlp.initialize(g);
    }
}
