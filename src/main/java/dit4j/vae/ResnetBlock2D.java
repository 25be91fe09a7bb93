package dit4j.vae;

import dit4j.runtime.Step;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** {@code x + conv2(silu(norm2(conv1(silu(norm1(x))))))}, with a 1x1 shortcut when the channels change. */
final class ResnetBlock2D extends Module {
    final Layers.GroupNorm norm1;
    final Layers.Conv2d conv1;
    final Layers.GroupNorm norm2;
    final Layers.Conv2d conv2;
    final Layers.Conv2d convShortcut;

    ResnetBlock2D(int in, int out, int groups) {
        norm1 = register_module("norm1", new Layers.GroupNorm(groups, in, 1e-6));
        conv1 = register_module("conv1", new Layers.Conv2d(in, out, 3, 1, 1));
        norm2 = register_module("norm2", new Layers.GroupNorm(groups, out, 1e-6));
        conv2 = register_module("conv2", new Layers.Conv2d(out, out, 3, 1, 1));
        convShortcut = in != out ? register_module("conv_shortcut", new Layers.Conv2d(in, out, 1, 1, 0)) : null;
    }

    Tensor forward(Tensor x) {
        Tensor h = Step.nested(() -> conv1.forward(torch.silu(norm1.forward(x))));
        Tensor h2 = Step.nested(() -> conv2.forward(torch.silu(norm2.forward(h))));
        return (convShortcut == null ? x : convShortcut.forward(x)).add(h2);
    }
}
