package dit4j.eval;

import dit4j.runtime.Step;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The blocks of pytorch-fid's FID Inception network (torchvision's Inception3 with pytorch-fid's
 * patched A, C and E blocks), with torchvision's module and parameter names.
 */
final class InceptionLayers {
    private InceptionLayers() {}

    static final double BN_EPS = 1e-3;
    // oneDNN's convolutions in channels-last (NHWC) layout: measured 2.4x faster than NCHW here.
    static final boolean CHANNELS_LAST = true;

    /** torchvision's BasicConv2d: conv without bias, BatchNorm (eps 1e-3, eval mode), ReLU. */
    static final class BasicConv2d extends Module {
        final Module conv = new Module();
        final Module bn = new Module();
        final Tensor weight, bnWeight, bnBias, runningMean, runningVar;
        private final long[] stride, padding;
        // Conv and BN folded into one convolution with bias (see fold()): one pass over the output instead of three.
        private Tensor foldedWeight;
        private TensorOptional foldedBias;

        BasicConv2d(int in, int out, int kh, int kw, int stride, int ph, int pw) {
            register_module("conv", conv);
            register_module("bn", bn);
            weight = torch.zeros(out, in, kh, kw);
            conv.register_parameter("weight", weight);
            bnWeight = torch.ones(out);
            bnBias = torch.zeros(out);
            runningMean = torch.zeros(out);
            runningVar = torch.ones(out);
            bn.register_parameter("weight", bnWeight);
            bn.register_parameter("bias", bnBias);
            bn.register_buffer("running_mean", runningMean);
            bn.register_buffer("running_var", runningVar);
            this.stride = new long[] {stride, stride};
            this.padding = new long[] {ph, pw};
        }

        BasicConv2d(int in, int out, int k) {
            this(in, out, k, k, 1, 0, 0);
        }

        BasicConv2d(int in, int out, int k, int stride, int pad) {
            this(in, out, k, k, stride, pad, pad);
        }

        /** Folds eval-mode BatchNorm into the convolution and releases the unfolded tensors; called once after the weights are loaded. */
        void fold() {
            // A step frees the intermediate copies of the weight; the two results outlive it by a retained reference.
            try (Step s = Step.open()) {
                Tensor scale = bnWeight.div(torch.sqrt(runningVar.add(new org.bytedeco.pytorch.Scalar(BN_EPS))));
                Tensor w = weight.mul(scale.view(-1, 1, 1, 1)).contiguous();
                if (CHANNELS_LAST) w = w.contiguous(torch.MemoryFormat.ChannelsLast);
                foldedWeight = w.retainReference();
                foldedBias = new TensorOptional(bnBias.sub(runningMean.mul(scale))).retainReference();
                // The forward pass reads only the folded copy: release the originals (~90 MB in all).
                for (Tensor t : new Tensor[] {weight, bnWeight, bnBias, runningMean, runningVar}) t.set_(torch.empty(0));
            }
        }

        Tensor forward(Tensor x) {
            Tensor y = torch.conv2d(x, foldedWeight, foldedBias, stride, padding, new long[] {1, 1}, 1);
            torch.relu_(y); // y owns the result; relu_'s returned handle is only borrowed
            return y;
        }
    }

    static Tensor avgPool3(Tensor x) {
        // TensorFlow's average pool ignores the padded zeros: count_include_pad=False.
        return torch.avg_pool2d(x, new long[] {3, 3}, new long[] {1, 1}, new long[] {1, 1}, false, false, new LongOptional());
    }

    static Tensor maxPool(Tensor x, int stride, int pad) {
        return torch.max_pool2d(x, new long[] {3, 3}, new long[] {stride, stride}, new long[] {pad, pad}, new long[] {1, 1}, false);
    }

    static Tensor cat(Tensor... parts) {
        TensorVector v = new TensorVector(parts);
        return torch.cat(v, 1);
    }

    /** pytorch-fid's FIDInceptionA (Mixed_5b/5c/5d). */
    static final class InceptionA extends Module {
        final BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branchPool;

        InceptionA(int in, int poolFeatures) {
            branch1x1 = register_module("branch1x1", new BasicConv2d(in, 64, 1));
            branch5x5_1 = register_module("branch5x5_1", new BasicConv2d(in, 48, 1));
            branch5x5_2 = register_module("branch5x5_2", new BasicConv2d(48, 64, 5, 1, 2));
            branch3x3dbl_1 = register_module("branch3x3dbl_1", new BasicConv2d(in, 64, 1));
            branch3x3dbl_2 = register_module("branch3x3dbl_2", new BasicConv2d(64, 96, 3, 1, 1));
            branch3x3dbl_3 = register_module("branch3x3dbl_3", new BasicConv2d(96, 96, 3, 1, 1));
            branchPool = register_module("branch_pool", new BasicConv2d(in, poolFeatures, 1));
        }

        Tensor forward(Tensor x) {
            Tensor b1 = branch1x1.forward(x);
            Tensor b5 = Step.nested(() -> branch5x5_2.forward(branch5x5_1.forward(x)));
            Tensor b3 = Step.nested(() -> branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x))));
            Tensor bp = Step.nested(() -> branchPool.forward(avgPool3(x)));
            return cat(b1, b5, b3, bp);
        }
    }

    /** torchvision's InceptionB (Mixed_6a). */
    static final class InceptionB extends Module {
        final BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

        InceptionB(int in) {
            branch3x3 = register_module("branch3x3", new BasicConv2d(in, 384, 3, 2, 0));
            branch3x3dbl_1 = register_module("branch3x3dbl_1", new BasicConv2d(in, 64, 1));
            branch3x3dbl_2 = register_module("branch3x3dbl_2", new BasicConv2d(64, 96, 3, 1, 1));
            branch3x3dbl_3 = register_module("branch3x3dbl_3", new BasicConv2d(96, 96, 3, 2, 0));
        }

        Tensor forward(Tensor x) {
            Tensor b3 = branch3x3.forward(x);
            Tensor bd = Step.nested(() -> branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x))));
            return cat(b3, bd, maxPool(x, 2, 0));
        }
    }

    /** pytorch-fid's FIDInceptionC (Mixed_6b..6e). */
    static final class InceptionC extends Module {
        final BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3;
        final BasicConv2d branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branchPool;

        InceptionC(int in, int c7) {
            branch1x1 = register_module("branch1x1", new BasicConv2d(in, 192, 1));
            branch7x7_1 = register_module("branch7x7_1", new BasicConv2d(in, c7, 1));
            branch7x7_2 = register_module("branch7x7_2", new BasicConv2d(c7, c7, 1, 7, 1, 0, 3));
            branch7x7_3 = register_module("branch7x7_3", new BasicConv2d(c7, 192, 7, 1, 1, 3, 0));
            branch7x7dbl_1 = register_module("branch7x7dbl_1", new BasicConv2d(in, c7, 1));
            branch7x7dbl_2 = register_module("branch7x7dbl_2", new BasicConv2d(c7, c7, 7, 1, 1, 3, 0));
            branch7x7dbl_3 = register_module("branch7x7dbl_3", new BasicConv2d(c7, c7, 1, 7, 1, 0, 3));
            branch7x7dbl_4 = register_module("branch7x7dbl_4", new BasicConv2d(c7, c7, 7, 1, 1, 3, 0));
            branch7x7dbl_5 = register_module("branch7x7dbl_5", new BasicConv2d(c7, 192, 1, 7, 1, 0, 3));
            branchPool = register_module("branch_pool", new BasicConv2d(in, 192, 1));
        }

        /** The output's first 192 channels are branch1x1 (what ADM's sFID reads from Mixed_6d). */
        Tensor forward(Tensor x) {
            Tensor b1 = branch1x1.forward(x);
            Tensor b7 = Step.nested(() -> branch7x7_3.forward(branch7x7_2.forward(branch7x7_1.forward(x))));
            Tensor bd = Step.nested(() -> branch7x7dbl_5.forward(branch7x7dbl_4.forward(
                    branch7x7dbl_3.forward(branch7x7dbl_2.forward(branch7x7dbl_1.forward(x))))));
            Tensor bp = Step.nested(() -> branchPool.forward(avgPool3(x)));
            return cat(b1, b7, bd, bp);
        }
    }

    /** torchvision's InceptionD (Mixed_7a). */
    static final class InceptionD extends Module {
        final BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;

        InceptionD(int in) {
            branch3x3_1 = register_module("branch3x3_1", new BasicConv2d(in, 192, 1));
            branch3x3_2 = register_module("branch3x3_2", new BasicConv2d(192, 320, 3, 2, 0));
            branch7x7x3_1 = register_module("branch7x7x3_1", new BasicConv2d(in, 192, 1));
            branch7x7x3_2 = register_module("branch7x7x3_2", new BasicConv2d(192, 192, 1, 7, 1, 0, 3));
            branch7x7x3_3 = register_module("branch7x7x3_3", new BasicConv2d(192, 192, 7, 1, 1, 3, 0));
            branch7x7x3_4 = register_module("branch7x7x3_4", new BasicConv2d(192, 192, 3, 2, 0));
        }

        Tensor forward(Tensor x) {
            Tensor b3 = Step.nested(() -> branch3x3_2.forward(branch3x3_1.forward(x)));
            Tensor b7 = Step.nested(() -> branch7x7x3_4.forward(branch7x7x3_3.forward(branch7x7x3_2.forward(branch7x7x3_1.forward(x)))));
            return cat(b3, b7, maxPool(x, 2, 0));
        }
    }

    /** pytorch-fid's FIDInceptionE_1 (Mixed_7b, average pool) and FIDInceptionE_2 (Mixed_7c, max pool). */
    static final class InceptionE extends Module {
        final BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b;
        final BasicConv2d branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branchPool;
        private final boolean maxPoolBranch;

        InceptionE(int in, boolean maxPoolBranch) {
            branch1x1 = register_module("branch1x1", new BasicConv2d(in, 320, 1));
            branch3x3_1 = register_module("branch3x3_1", new BasicConv2d(in, 384, 1));
            branch3x3_2a = register_module("branch3x3_2a", new BasicConv2d(384, 384, 1, 3, 1, 0, 1));
            branch3x3_2b = register_module("branch3x3_2b", new BasicConv2d(384, 384, 3, 1, 1, 1, 0));
            branch3x3dbl_1 = register_module("branch3x3dbl_1", new BasicConv2d(in, 448, 1));
            branch3x3dbl_2 = register_module("branch3x3dbl_2", new BasicConv2d(448, 384, 3, 1, 1));
            branch3x3dbl_3a = register_module("branch3x3dbl_3a", new BasicConv2d(384, 384, 1, 3, 1, 0, 1));
            branch3x3dbl_3b = register_module("branch3x3dbl_3b", new BasicConv2d(384, 384, 3, 1, 1, 1, 0));
            branchPool = register_module("branch_pool", new BasicConv2d(in, 192, 1));
            this.maxPoolBranch = maxPoolBranch;
        }

        Tensor forward(Tensor x) {
            Tensor b1 = branch1x1.forward(x);
            Tensor b3 = Step.nested(() -> {
                Tensor h = branch3x3_1.forward(x);
                return cat(branch3x3_2a.forward(h), branch3x3_2b.forward(h));
            });
            Tensor bd = Step.nested(() -> {
                Tensor h = branch3x3dbl_2.forward(branch3x3dbl_1.forward(x));
                return cat(branch3x3dbl_3a.forward(h), branch3x3dbl_3b.forward(h));
            });
            // pytorch-fid: the FID network's last block max-pools here (unlike the paper).
            Tensor bp = Step.nested(() -> branchPool.forward(maxPoolBranch ? maxPool(x, 1, 1) : avgPool3(x)));
            return cat(b1, b3, bd, bp);
        }
    }
}
