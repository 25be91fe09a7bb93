package dit4j.vae;

import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The resolution levels of the encoder and decoder, and the middle block (diffusers' names). */
final class Blocks {
    private Blocks() {}

    /** {@code resnets.N} registered under a container, each held by a Java reference. */
    static List<ResnetBlock2D> resnets(Module container, int n, int in, int out, int groups) {
        List<ResnetBlock2D> list = new ArrayList<>();
        for (int i = 0; i < n; i++) list.add(container.register_module(Integer.toString(i), new ResnetBlock2D(i == 0 ? in : out, out, groups)));
        return list;
    }

    /** {@code DownEncoderBlock2D}: resnets, then a stride-2 convolution padded (0, 1, 0, 1) unless last. */
    static final class DownEncoderBlock2D extends Module {
        private final Module resnetList;
        private final Module downList;
        private final Module down;
        final List<ResnetBlock2D> resnets;
        final Layers.Conv2d downsample;

        DownEncoderBlock2D(int in, int out, int layers, int groups, boolean addDownsample) {
            resnetList = register_module("resnets", new Module());
            resnets = resnets(resnetList, layers, in, out, groups);
            downList = addDownsample ? register_module("downsamplers", new Module()) : null;
            down = addDownsample ? downList.register_module("0", new Module()) : null;
            downsample = addDownsample ? down.register_module("conv", new Layers.Conv2d(out, out, 3, 2, 0)) : null;
        }

        Tensor forward(Tensor x) {
            for (ResnetBlock2D r : resnets) {
                Tensor in = x;
                x = Step.nested(() -> r.forward(in));
            }
            if (downsample == null) return x;
            Tensor in = x;
            return Step.nested(() -> downsample.forward(torch.constant_pad_nd(in, new long[] {0, 1, 0, 1}, new Scalar(0))));
        }
    }

    /** {@code UpDecoderBlock2D}: resnets, then nearest 2x upsampling and a convolution unless last. */
    static final class UpDecoderBlock2D extends Module {
        private final Module resnetList;
        private final Module upList;
        private final Module up;
        final List<ResnetBlock2D> resnets;
        final Layers.Conv2d upsample;

        UpDecoderBlock2D(int in, int out, int layers, int groups, boolean addUpsample) {
            resnetList = register_module("resnets", new Module());
            resnets = resnets(resnetList, layers, in, out, groups);
            upList = addUpsample ? register_module("upsamplers", new Module()) : null;
            up = addUpsample ? upList.register_module("0", new Module()) : null;
            upsample = addUpsample ? up.register_module("conv", new Layers.Conv2d(out, out, 3, 1, 1)) : null;
        }

        Tensor forward(Tensor x) {
            for (ResnetBlock2D r : resnets) {
                Tensor in = x;
                x = Step.nested(() -> r.forward(in));
            }
            if (upsample == null) return x;
            Tensor in = x;
            return Step.nested(() -> upsample.forward(torch.upsample_nearest2d(in, new long[] {in.size(2) * 2, in.size(3) * 2})));
        }
    }

    /** {@code UNetMidBlock2D}: resnet, attention, resnet. */
    static final class MidBlock extends Module {
        private final Module resnetList;
        private final Module attentionList;
        final List<ResnetBlock2D> resnets;
        final VaeAttention attention;

        MidBlock(int channels, int groups, boolean addAttention) {
            resnetList = register_module("resnets", new Module());
            resnets = resnets(resnetList, 2, channels, channels, groups);
            attentionList = addAttention ? register_module("attentions", new Module()) : null;
            attention = addAttention ? attentionList.register_module("0", new VaeAttention(channels, groups)) : null;
        }

        Tensor forward(Tensor x) {
            Tensor h = Step.nested(() -> resnets.get(0).forward(x));
            Tensor a = attention == null ? h : Step.nested(() -> attention.forward(h));
            return Step.nested(() -> resnets.get(1).forward(a));
        }
    }
}
