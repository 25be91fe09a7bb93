package dit4j.vae;

import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Image to the moments of the latent posterior: conv_in, down blocks, mid block, norm, SiLU, conv_out. */
final class Encoder extends Module {
    final Layers.Conv2d convIn;
    private final Module downList;
    final List<Blocks.DownEncoderBlock2D> downBlocks = new ArrayList<>();
    final Blocks.MidBlock midBlock;
    final Layers.GroupNorm convNormOut;
    final Layers.Conv2d convOut;

    Encoder(VaeConfig c) {
        int[] ch = c.blockOutChannels();
        convIn = register_module("conv_in", new Layers.Conv2d(c.inChannels(), ch[0], 3, 1, 1));
        downList = register_module("down_blocks", new Module());
        int out = ch[0];
        for (int i = 0; i < ch.length; i++) {
            int in = out;
            out = ch[i];
            downBlocks.add(downList.register_module(Integer.toString(i),
                    new Blocks.DownEncoderBlock2D(in, out, c.layersPerBlock(), c.normNumGroups(), i < ch.length - 1)));
        }
        midBlock = register_module("mid_block", new Blocks.MidBlock(ch[ch.length - 1], c.normNumGroups(), c.midBlockAddAttention()));
        convNormOut = register_module("conv_norm_out", new Layers.GroupNorm(c.normNumGroups(), ch[ch.length - 1], 1e-6));
        convOut = register_module("conv_out", new Layers.Conv2d(ch[ch.length - 1], 2 * c.latentChannels(), 3, 1, 1));
    }

    Tensor forward(Tensor x) {
        Tensor h = Step.nested(() -> convIn.forward(x));
        for (Blocks.DownEncoderBlock2D b : downBlocks) {
            Tensor in = h;
            h = Step.nested(() -> b.forward(in));
        }
        Tensor mid = midBlock.forward(h);
        return Step.nested(() -> convOut.forward(torch.silu(convNormOut.forward(mid))));
    }
}
