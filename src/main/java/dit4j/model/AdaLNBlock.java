package dit4j.model;

import static dit4j.model.Modulation.modulate;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * The paper's adaLN block: the norms' scale and shift regressed from t + y, plain residuals (no
 * gates), and the regression initialised like every other linear layer rather than zeroed.
 */
public final class AdaLNBlock extends Block {
    public final Norm norm1;
    public final Attention attn;
    public final Norm norm2;
    public final FeedForward mlp;
    public final AdaLNModulation adaLN_modulation;

    AdaLNBlock(int hidden, int numHeads, int mlpHidden, Arch arch, Rope rope) {
        norm1 = register_module("norm1", new Norm(arch.norm(), hidden, false));
        attn = register_module("attn", new Attention(hidden, numHeads, arch.qkNorm(), rope));
        norm2 = register_module("norm2", new Norm(arch.norm(), hidden, false));
        mlp = FeedForward.register(this, arch.mlp(), hidden, mlpHidden);
        adaLN_modulation = register_module("adaLN_modulation", new AdaLNModulation(hidden, 4));
    }

    @Override
    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = adaLN_modulation.forward(c);
        Tensor shiftMsa = m[0], scaleMsa = m[1], shiftMlp = m[2], scaleMlp = m[3];
        x = x.add(attn.forward(modulate(norm1.forward(x), shiftMsa, scaleMsa)));
        x = x.add(mlp.forward(modulate(norm2.forward(x), shiftMlp, scaleMlp)));
        return x;
    }

    @Override
    void initialize(Generator g) {
        attn.initialize(g);
        mlp.initialize(g);
        adaLN_modulation.linear.xavierInit(g);
    }
}
