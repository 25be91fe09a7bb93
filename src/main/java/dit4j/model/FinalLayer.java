package dit4j.model;

import static dit4j.model.Modulation.modulate;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** Modulated layer norm and a linear map from tokens to patches of output channels. */
public final class FinalLayer extends Module {
    public final Norm norm_final;
    public final Linear linear;
    public final AdaLNModulation adaLN_modulation;

    public FinalLayer(int hidden, int patch, int outChannels) {
        this(hidden, patch, outChannels, Arch.NormKind.LAYERNORM);
    }

    FinalLayer(int hidden, int patch, int outChannels, Arch.NormKind norm) {
        // Without parameters, as the official norm_final.
        norm_final = register_module("norm_final", new Norm(norm, hidden, false));
        linear = register_module("linear", new Linear(hidden, patch * patch * outChannels));
        adaLN_modulation = register_module("adaLN_modulation", new AdaLNModulation(hidden, 2));
    }

    /** @param c the (N, D) vector t + y */
    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = adaLN_modulation.forward(c);
        Tensor shift = m[0], scale = m[1];
        return linear.forward(modulate(norm_final.forward(x), shift, scale));
    }

    void initialize() {
        adaLN_modulation.zeroInit();
        linear.zeroInit();
    }
}
