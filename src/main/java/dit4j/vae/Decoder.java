package dit4j.vae;

import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Latent to image: conv_in, mid block, up blocks (widest first), norm, SiLU, conv_out. */
final class Decoder extends Module {
    final Layers.Conv2d convIn;
    final Blocks.MidBlock midBlock;
    private final Module upList;
    final List<Blocks.UpDecoderBlock2D> upBlocks = new ArrayList<>();
    final Layers.GroupNorm convNormOut;
    final Layers.Conv2d convOut;

    Decoder(VaeConfig c) {
        int[] ch = c.blockOutChannels();
        int top = ch[ch.length - 1];
        convIn = register_module("conv_in", new Layers.Conv2d(c.latentChannels(), top, 3, 1, 1));
        midBlock = register_module("mid_block", new Blocks.MidBlock(top, c.normNumGroups(), c.midBlockAddAttention()));
        upList = register_module("up_blocks", new Module());
        int out = top;
        for (int i = 0; i < ch.length; i++) {
            int in = out;
            out = ch[ch.length - 1 - i];
            upBlocks.add(upList.register_module(Integer.toString(i),
                    new Blocks.UpDecoderBlock2D(in, out, c.layersPerBlock() + 1, c.normNumGroups(), i < ch.length - 1)));
        }
        convNormOut = register_module("conv_norm_out", new Layers.GroupNorm(c.normNumGroups(), ch[0], 1e-6));
        convOut = register_module("conv_out", new Layers.Conv2d(ch[0], c.outChannels(), 3, 1, 1));
    }

    Tensor forward(Tensor z) {
        Tensor h = Step.nested(() -> convIn.forward(z));
        Tensor mid = midBlock.forward(h);
        h = mid;
        for (Blocks.UpDecoderBlock2D b : upBlocks) {
            Tensor in = h;
            h = Step.nested(() -> b.forward(in));
        }
        Tensor last = h;
        return Step.nested(() -> convOut.forward(torch.silu(convNormOut.forward(last))));
    }
}
