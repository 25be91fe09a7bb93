package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * A standard pre-norm ViT block, {@code x + attn(norm1(x))} then {@code x + mlp(norm2(x))}, with
 * affine norms and no conditioning of its own: the paper's in-context design, where t and y are
 * two more tokens of the sequence.
 */
public final class ViTBlock extends Block {
    public final Norm norm1;
    public final Attention attn;
    public final Norm norm2;
    public final FeedForward mlp;

    ViTBlock(int hidden, int numHeads, int mlpHidden, Arch arch, Rope rope) {
        norm1 = register_module("norm1", new Norm(arch.norm(), hidden, true));
        attn = register_module("attn", new Attention(hidden, numHeads, arch.qkNorm(), rope));
        norm2 = register_module("norm2", new Norm(arch.norm(), hidden, true));
        mlp = FeedForward.register(this, arch.mlp(), hidden, mlpHidden);
    }

    /** @param c unused: the conditioning tokens are already in {@code x} */
    @Override
    public Tensor forward(Tensor x, Tensor c) {
        x = x.add(attn.forward(norm1.forward(x)));
        x = x.add(mlp.forward(norm2.forward(x)));
        return x;
    }

    @Override
    void initialize(Generator g) {
        norm1.initialize();
        attn.initialize(g);
        norm2.initialize();
        mlp.initialize(g);
    }
}
