package dit4j.model;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Modulated layer norm and a linear map from tokens to patches of output channels. */
public final class FinalLayer extends Module {
    public final Linear linear;
    public final Linear adaLN_modulation;
    private final Module adaLNContainer;

    public FinalLayer(int hidden, int patch, int outChannels) {
        linear = register_module("linear", new Linear(hidden, patch * patch * outChannels));
        adaLNContainer = Modulation.adaLNContainer(this);
        adaLN_modulation = Modulation.adaLNLinear(adaLNContainer, hidden, 2);
    }

    public Tensor forward(Tensor x, Tensor c) {
        Tensor[] m = Tensors.parts(adaLN_modulation.forward(torch.silu(c)).chunk(2, 1));
        return linear.forward(Modulation.modulate(Modulation.layerNorm(x), m[0], m[1]));
    }

    void initialize() {
        adaLN_modulation.zeroInit();
        linear.zeroInit();
    }
}
