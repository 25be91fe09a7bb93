package dit4j.model;

import static dit4j.model.Modulation.gatedResidual;
import static dit4j.model.Modulation.layerNorm;
import static dit4j.model.Modulation.modulate;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A DiT block with adaptive layer norm zero (adaLN-Zero) conditioning. */
public final class DiTBlock extends Module {
    public final Attention attn;
    public final Mlp mlp;
    public final AdaLNModulation adaLN_modulation;

    public DiTBlock(int hidden, int numHeads, int mlpHidden) {
        // norm1 and norm2 are LayerNorms without parameters (layerNorm below), as in the official block.
        attn = register_module("attn", new Attention(hidden, numHeads));
        mlp = register_module("mlp", new Mlp(hidden, mlpHidden));
        adaLN_modulation = register_module("adaLN_modulation", new AdaLNModulation(hidden, 6));
    }

    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = adaLN_modulation.forward(c);
        Tensor shiftMsa = m[0], scaleMsa = m[1], gateMsa = m[2], shiftMlp = m[3], scaleMlp = m[4], gateMlp = m[5];
        x = gatedResidual(x, gateMsa, attn.forward(modulate(layerNorm(x), shiftMsa, scaleMsa)));
        x = gatedResidual(x, gateMlp, mlp.forward(modulate(layerNorm(x), shiftMlp, scaleMlp)));
        return x;
    }

    void initialize(Generator g) {
        attn.initialize(g);
        mlp.initialize(g);
        adaLN_modulation.zeroInit();
    }
}
