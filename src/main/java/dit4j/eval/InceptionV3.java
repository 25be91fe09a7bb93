package dit4j.eval;

import dit4j.eval.InceptionLayers.BasicConv2d;
import dit4j.eval.InceptionLayers.InceptionA;
import dit4j.eval.InceptionLayers.InceptionB;
import dit4j.eval.InceptionLayers.InceptionC;
import dit4j.eval.InceptionLayers.InceptionD;
import dit4j.eval.InceptionLayers.InceptionE;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.io.StateDicts;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The Inception network of FID as pytorch-fid defines it ({@code fid_inception_v3}: torchvision's
 * Inception3 with 1008 classes, no auxiliary head and pytorch-fid's FID blocks), with the names of
 * its weights file {@code pt_inception-2015-12-05-6726825d.pth}. Eval mode only.
 *
 * <p>{@link #features} gives everything the FID-family metrics read in one pass: the 2048-d pool
 * features, the pooled outputs of pytorch-fid's blocks 0-2 ({@code --dims 64/192/768}), and
 * {@code Mixed_6d}'s first 7 channels (ADM's sFID).
 *
 * <p>A network from {@link #load} is for the forward pass: once BatchNorm is folded into the
 * convolutions, their {@code conv.*} and {@code bn.*} tensors are released (empty), so the
 * weights are held once; {@code fc.*} stays.
 */
public final class InceptionV3 extends Module {
    final BasicConv2d conv1a, conv2a, conv2b, conv3b, conv4a;
    final InceptionA mixed5b, mixed5c, mixed5d;
    final InceptionB mixed6a;
    final InceptionC mixed6b, mixed6c, mixed6d, mixed6e;
    final InceptionD mixed7a;
    final InceptionE mixed7b, mixed7c;
    final Module fc = new Module();
    final Tensor fcWeight = torch.zeros(1008, 2048), fcBias = torch.zeros(1008);

    public InceptionV3() {
        conv1a = register_module("Conv2d_1a_3x3", new BasicConv2d(3, 32, 3, 2, 0));
        conv2a = register_module("Conv2d_2a_3x3", new BasicConv2d(32, 32, 3));
        conv2b = register_module("Conv2d_2b_3x3", new BasicConv2d(32, 64, 3, 1, 1));
        conv3b = register_module("Conv2d_3b_1x1", new BasicConv2d(64, 80, 1));
        conv4a = register_module("Conv2d_4a_3x3", new BasicConv2d(80, 192, 3));
        mixed5b = register_module("Mixed_5b", new InceptionA(192, 32));
        mixed5c = register_module("Mixed_5c", new InceptionA(256, 64));
        mixed5d = register_module("Mixed_5d", new InceptionA(288, 64));
        mixed6a = register_module("Mixed_6a", new InceptionB(288));
        mixed6b = register_module("Mixed_6b", new InceptionC(768, 128));
        mixed6c = register_module("Mixed_6c", new InceptionC(768, 160));
        mixed6d = register_module("Mixed_6d", new InceptionC(768, 160));
        mixed6e = register_module("Mixed_6e", new InceptionC(768, 192));
        mixed7a = register_module("Mixed_7a", new InceptionD(768));
        mixed7b = register_module("Mixed_7b", new InceptionE(1280, false));
        mixed7c = register_module("Mixed_7c", new InceptionE(2048, true));
        register_module("fc", fc);
        fc.register_parameter("weight", fcWeight);
        fc.register_parameter("bias", fcBias);
        eval();
    }

    /**
     * Loads a state dict in the layout of pytorch-fid's weights file (zip or legacy torch.save, or
     * safetensors). {@code *.num_batches_tracked} entries are optional and ignored.
     */
    public static InceptionV3 load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new CheckpointException(file + ": no such Inception weights file");
        return of(() -> CheckpointFile.read(file, true).weights(), file.toString());
    }

    /** A network with {@link #randomWeights}: the real file's compute, for timing without it ({@code dit bench --mode inception}). */
    public static InceptionV3 random(long seed) throws IOException {
        return of(() -> randomWeights(seed), "random Inception weights");
    }

    private interface Weights {
        Map<String, Tensor> read() throws IOException;
    }

    private static InceptionV3 of(Weights weights, String source) throws IOException {
        InceptionV3 net = new InceptionV3();
        // The parameters take over the state dict's tensors, whose handles die with the step: the
        // network alone owns the weights, so the ones folding releases are freed at once.
        try (Step s = Step.open()) {
            Map<String, Tensor> sd = new LinkedHashMap<>();
            weights.read().forEach((k, v) -> {
                if (!k.endsWith(".num_batches_tracked")) sd.put(k, v);
            });
            StateDicts.adopt(net, sd, source);
            net.fold();
        }
        return net;
    }

    /**
     * Random weights in the layout and order of pytorch-fid's weights file, as
     * scripts/make_inception_vectors.py makes them: tensor i is drawn from a CPU generator seeded
     * {@code seed + i} ({@code randn}, times a scale, plus a shift; running variances from
     * {@code |randn|}); {@code num_batches_tracked} is 0. For tests and for timing without the real file.
     */
    public static Map<String, Tensor> randomWeights(long seed) {
        java.util.List<String> keys = new java.util.ArrayList<>();
        Map<String, Tensor> own = StateDicts.of(new InceptionV3());
        for (String k : own.keySet()) {
            if (!k.endsWith(".conv.weight")) continue;
            String p = k.substring(0, k.length() - "conv.weight".length());
            for (String s : new String[] {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}) keys.add(p + s);
        }
        keys.add("fc.weight");
        keys.add("fc.bias");
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < keys.size(); i++) {
                String k = keys.get(i);
                if (k.endsWith("num_batches_tracked")) {
                    out.put(k, torch.zeros(new long[0], new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
                    continue;
                }
                long[] shape = Tensors.shape(own.get(k));
                Tensor r = torch.randn(shape, new org.bytedeco.pytorch.GeneratorOptional(torch.createCPUGenerator(seed + i)), new org.bytedeco.pytorch.TensorOptions(ScalarType.Float));
                double scale, shift = 0;
                if (k.endsWith("conv.weight")) scale = Math.sqrt(2.0 / (r.numel() / shape[0]));
                else if (k.endsWith("bn.weight")) {
                    scale = 0.1;
                    shift = 1.0;
                } else if (k.endsWith("bn.running_var")) {
                    r = r.abs();
                    scale = 0.5;
                    shift = 0.5;
                } else if (k.equals("fc.weight")) scale = 0.05 / Math.sqrt(shape[1]);
                else scale = 0.1; // bn.bias, bn.running_mean, fc.bias
                out.put(k, r.mul(new Scalar(scale)).add(new Scalar(shift)));
            }
        }
        return out;
    }

    private void fold() {
        try (NoGradGuard g = new NoGradGuard()) {
            for (BasicConv2d c : convs()) c.fold();
        }
    }

    private java.util.List<BasicConv2d> convs() {
        java.util.List<BasicConv2d> out = new java.util.ArrayList<>();
        collect(this, out);
        return out;
    }

    private static void collect(Object m, java.util.List<BasicConv2d> out) {
        if (m instanceof BasicConv2d c) {
            out.add(c);
            return;
        }
        for (java.lang.reflect.Field f : m.getClass().getDeclaredFields()) {
            if (!Module.class.isAssignableFrom(f.getType()) || f.getName().equals("fc")) continue;
            try {
                f.setAccessible(true);
                Object v = f.get(m);
                if (v != null && v != m) collect(v, out);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** What one pass computes; pooled tensors are [N,C], {@code mixed6Conv7} is [N,7,17,17]. */
    public record Features(Tensor pool3, Tensor pool64, Tensor pool192, Tensor pool768, Tensor mixed6Conv7) {
        /** ADM's sFID features: Mixed_6d's 7 channels in (h, w, c) order, [N, 17*17*7]. */
        public Tensor spatial() {
            return mixed6Conv7.permute(0, 2, 3, 1).reshape(mixed6Conv7.size(0), -1);
        }
    }

    /** {@code pool3 @ fc.weight^T}, optionally plus {@code fc.bias}: the 1008 logits. */
    public Tensor logits(Tensor pool3, boolean withBias) {
        Tensor l = pool3.matmul(fcWeight.t());
        return withBias ? l.add(fcBias) : l;
    }

    /**
     * The network's input holds at most this many images: the stem's activations of a 50-image
     * batch at 299x299 (~0.4 GB in the widest layer, with its input) would otherwise set the
     * evaluation's peak memory (docs/evaluation.md).
     */
    public static final int SLICE = 16;

    /** {@link #features} of uint8 images [N,H,W,3], preprocessed and run {@link #SLICE} at a time. Call inside a Step and InferenceMode. */
    public Features featuresUint8(Tensor nhwc, Resize resize) {
        long n = nhwc.size(0);
        if (n <= SLICE) return features(preprocessUint8(nhwc, resize));
        // in the caller's scope: [N,2048], [N,64], [N,192], [N,768], [N,7,17,17]
        Tensor[] out = {Tensors.empty(ScalarType.Float, n, 2048), Tensors.empty(ScalarType.Float, n, 64), Tensors.empty(ScalarType.Float, n, 192),
            Tensors.empty(ScalarType.Float, n, 768), Tensors.empty(ScalarType.Float, n, 7, 17, 17)};
        for (long i = 0; i < n; i += SLICE) {
            long b = Math.min(SLICE, n - i), i0 = i;
            Step.nested(() -> {
                Features f = features(preprocessUint8(nhwc.narrow(0, i0, b), resize));
                Tensor[] parts = {f.pool3(), f.pool64(), f.pool192(), f.pool768(), f.mixed6Conv7()};
                for (int k = 0; k < parts.length; k++) out[k].narrow(0, i0, b).copy_(parts[k]);
            });
        }
        return new Features(out[0], out[1], out[2], out[3], out[4]);
    }

    /** Runs the network on preprocessed input [N,3,299,299] in [-1,1]. Call inside a Step and InferenceMode. */
    public Features features(Tensor input) {
        Tensor x = InceptionLayers.CHANNELS_LAST ? input.contiguous(torch.MemoryFormat.ChannelsLast) : input;
        Tensor b0 = Step.nested(() -> InceptionLayers.maxPool(conv2b.forward(conv2a.forward(conv1a.forward(x))), 2, 0));
        Tensor b1 = Step.nested(() -> InceptionLayers.maxPool(conv4a.forward(conv3b.forward(b0)), 2, 0));
        Tensor h = b1;
        Tensor[] keep = new Tensor[1];
        for (Module m : new Module[] {mixed5b, mixed5c, mixed5d, mixed6a, mixed6b, mixed6c, mixed6d, mixed6e}) {
            Tensor in = h;
            h = Step.nested(() -> forwardBlock(m, in));
            if (m == mixed6d) keep[0] = h.narrow(1, 0, 7);
        }
        Tensor b2 = h;
        Tensor b3 = Step.nested(() -> mixed7c.forward(mixed7b.forward(mixed7a.forward(b2))));
        return new Features(pool(b3), pool(b0), pool(b1), pool(b2), keep[0].contiguous());
    }

    private static Tensor forwardBlock(Module m, Tensor x) {
        if (m instanceof InceptionA a) return a.forward(x);
        if (m instanceof InceptionB b) return b.forward(x);
        if (m instanceof InceptionC c) return c.forward(x);
        throw new IllegalStateException(m.getClass().getName());
    }

    private static Tensor pool(Tensor x) {
        return torch.adaptive_avg_pool2d(x, 1, 1).flatten(1, -1);
    }

    /** How images become the network's 299x299 input. */
    public enum Resize {
        /** pytorch-fid: values in [0,1], F.interpolate bilinear (align_corners=False, no antialias), then 2x-1. */
        PYTORCH,
        /** ADM's TF1 graph: bilinear on 0..255 values without the half-pixel offset, then (x-128)/128. */
        TF1
    }

    /** uint8 images [N,H,W,3] (NHWC, as samples.npz holds them) to the network input [N,3,299,299]. */
    public static Tensor preprocessUint8(Tensor nhwc, Resize resize) {
        Tensor x = nhwc.permute(0, 3, 1, 2).to(ScalarType.Float);
        if (resize == Resize.TF1) return tf1Bilinear(x, 299, 299).sub(new Scalar(128.0)).div(new Scalar(128.0));
        return preprocess01(x.div(new Scalar(255.0)));
    }

    /** pytorch-fid's preprocessing of float images [N,3,H,W] in [0,1]. */
    public static Tensor preprocess01(Tensor x) {
        Tensor r = torch.upsample_bilinear2d(x, new long[] {299, 299}, false);
        return r.mul(new Scalar(2.0)).sub(new Scalar(1.0));
    }

    /**
     * TensorFlow 1's {@code resize_bilinear} with {@code align_corners=False} and no half-pixel
     * centres: source coordinate {@code dst * in / out}, the lower neighbour floored, the upper one
     * clamped to the edge.
     */
    static Tensor tf1Bilinear(Tensor x, int outH, int outW) {
        Tensor rows = lerp(x, 2, x.size(2), outH);
        return lerp(rows, 3, x.size(3), outW);
    }

    private static Tensor lerp(Tensor x, int dim, long in, int out) {
        long[] lo = new long[out], hi = new long[out];
        float[] w = new float[out];
        double scale = (double) in / out;
        for (int i = 0; i < out; i++) {
            double src = i * scale;
            long f = (long) Math.floor(src);
            lo[i] = Math.min(f, in - 1);
            hi[i] = Math.min(f + 1, in - 1);
            w[i] = (float) (src - f);
        }
        long[] shape = dim == 2 ? new long[] {1, 1, out, 1} : new long[] {1, 1, 1, out};
        Tensor a = x.index_select(dim, Tensors.longs(lo)), b = x.index_select(dim, Tensors.longs(hi));
        Tensor wt = Tensors.floats(w, shape);
        return a.add(b.sub(a).mul(wt));
    }
}
