package dit4j.vae;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** The convolution and group norm of the VAE, with torch.nn's parameter names (its linear layers are {@link dit4j.model.Linear}). */
final class Layers {
    private Layers() {}

    /** {@code nn.Conv2d} (square kernel, stride 1 unless given). */
    static final class Conv2d extends Module {
        final Tensor weight;
        final Tensor bias;
        private final TensorOptional biasOpt;
        private final long stride;
        private final long padding;

        Conv2d(int in, int out, int kernel, int stride, int padding) {
            weight = torch.zeros(out, in, kernel, kernel);
            bias = torch.zeros(out);
            register_parameter("weight", weight);
            register_parameter("bias", bias);
            biasOpt = new TensorOptional(bias);
            this.stride = stride;
            this.padding = padding;
        }

        Tensor forward(Tensor x) {
            return torch.conv2d(x, weight, biasOpt, new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, 1);
        }
    }

    /** {@code nn.GroupNorm} with affine parameters. */
    static final class GroupNorm extends Module {
        final Tensor weight;
        final Tensor bias;
        private final TensorOptional weightOpt;
        private final TensorOptional biasOpt;
        private final int groups;
        private final double eps;

        GroupNorm(int groups, int channels, double eps) {
            weight = torch.ones(channels);
            bias = torch.zeros(channels);
            register_parameter("weight", weight);
            register_parameter("bias", bias);
            weightOpt = new TensorOptional(weight);
            biasOpt = new TensorOptional(bias);
            this.groups = groups;
            this.eps = eps;
        }

        Tensor forward(Tensor x) {
            return torch.group_norm(x, groups, weightOpt, biasOpt, eps, true);
        }
    }
}
