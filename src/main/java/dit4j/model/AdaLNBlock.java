package dit4j.model;

import static dit4j.model.Modulation.modulate;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * The paper's adaLN block: the norms' scale and shift regressed from t + y, plain residuals (no
 * gates), and the regression initialised like every other linear layer rather than zeroed.
 *
 * <p>The regression has adaLN-Zero's six outputs (same layout and chunk order) of which the gates
 * go unused: the paper gives adaLN the Gflops of adaLN-Zero (118.6 for DiT-XL/2, Figure 5), which
 * only a six-vector regression gives; four vectors would be 118.5.
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
        adaLN_modulation = register_module("adaLN_modulation", new AdaLNModulation(hidden, 6));
    }

    @Override
    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = adaLN_modulation.forward(c);
        // m[2] and m[5] are adaLN-Zero's gates: no gates here, so they get no gradient.
        Tensor shiftMsa = m[0], scaleMsa = m[1], shiftMlp = m[3], scaleMlp = m[4];
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
