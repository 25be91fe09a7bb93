package dit4j.model;

import static dit4j.model.Modulation.gatedResidual;
import static dit4j.model.Modulation.modulate;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/** A DiT block with adaptive layer norm zero (adaLN-Zero) conditioning: the official block. */
public final class DiTBlock extends Block {
    public final Norm norm1;
    public final Attention attn;
    public final Norm norm2;
    public final FeedForward mlp;
    public final AdaLNModulation adaLN_modulation;

    public DiTBlock(int hidden, int numHeads, int mlpHidden) {
        this(hidden, numHeads, mlpHidden, Arch.OFFICIAL, null);
    }

    DiTBlock(int hidden, int numHeads, int mlpHidden, Arch arch, Rope rope) {
        // norm1 and norm2 are LayerNorms without parameters, as in the official block.
        norm1 = register_module("norm1", new Norm(arch.norm(), hidden, false));
        attn = register_module("attn", new Attention(hidden, numHeads, arch.qkNorm(), rope));
        norm2 = register_module("norm2", new Norm(arch.norm(), hidden, false));
        mlp = FeedForward.register(this, arch.mlp(), hidden, mlpHidden);
        adaLN_modulation = register_module("adaLN_modulation", new AdaLNModulation(hidden, 6));
    }

    @Override
    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = adaLN_modulation.forward(c);
        Tensor shiftMsa = m[0], scaleMsa = m[1], gateMsa = m[2], shiftMlp = m[3], scaleMlp = m[4], gateMlp = m[5];
        x = gatedResidual(x, gateMsa, attn.forward(modulate(norm1.forward(x), shiftMsa, scaleMsa)));
        x = gatedResidual(x, gateMlp, mlp.forward(modulate(norm2.forward(x), shiftMlp, scaleMlp)));
        return x;
    }

    @Override
    void initialize(Generator g) {
        attn.initialize(g);
        mlp.initialize(g);
        adaLN_modulation.zeroInit();
    }
}
