package dit4j.model;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** A DiT block with adaptive layer norm zero (adaLN-Zero) conditioning. */
public final class DiTBlock extends Module {
    public final Attention attn;
    public final Mlp mlp;
    public final Linear adaLN_modulation;
    private final Module adaLNContainer;

    public DiTBlock(int hidden, int numHeads, int mlpHidden) {
        attn = register_module("attn", new Attention(hidden, numHeads));
        mlp = register_module("mlp", new Mlp(hidden, mlpHidden));
        adaLNContainer = Modulation.adaLNContainer(this);
        adaLN_modulation = Modulation.adaLNLinear(adaLNContainer, hidden, 6);
    }

    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = Tensors.parts(adaLN_modulation.forward(torch.silu(c)).chunk(6, 1));
        Tensor shiftMsa = m[0], scaleMsa = m[1], gateMsa = m[2];
        Tensor shiftMlp = m[3], scaleMlp = m[4], gateMlp = m[5];
        // Each residual branch in its own scope, so its temporaries die as the branch ends.
        Tensor x0 = x;
        Tensor x1 = Step.nested(() -> Modulation.gatedResidual(x0, gateMsa, attn.forward(Modulation.modulate(Modulation.layerNorm(x0), shiftMsa, scaleMsa))));
        return Step.nested(() -> Modulation.gatedResidual(x1, gateMlp, mlp.forward(Modulation.modulate(Modulation.layerNorm(x1), shiftMlp, scaleMlp))));
    }

    void initialize(Generator g) {
        attn.initialize(g);
        mlp.initialize(g);
        adaLN_modulation.zeroInit();
    }
}
