package dit4j.eval;

import dit4j.model.Attention;
import dit4j.model.DiT;
import dit4j.model.DiTBlock;
import dit4j.model.Mlp;
import dit4j.model.DiTConfig;
import dit4j.model.Modulation;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Where a model pass spends its time: the DiT forward taken apart into its operations, each run
 * alone on inputs of the real shapes (forward only for sampling, forward and backward for
 * training) and multiplied by how often one pass runs it, next to the whole pass timed the same
 * way. The difference is the glue (views, copies, scopes, JNI crossings).
 */
public final class Profile {
    private Profile() {}

    /** One operation: how many times a pass runs it and the milliseconds of one run. */
    public record Part(String name, int perPass, double msEach) {
        public double msPerPass() {
            return perPass * msEach;
        }
    }

    /** @param passMs the whole model pass, timed like the parts */
    public record Report(List<Part> parts, double passMs) {
        public double partsMs() {
            return parts.stream().mapToDouble(Part::msPerPass).sum();
        }
    }

    /**
     * @param rows the batch the model sees (2B for guided sampling)
     * @param train time forward and backward instead of forward only
     */
    public static Report run(DiTConfig c, int rows, Precision precision, boolean train) {
        Generator g = torch.createCPUGenerator(0);
        DiT model = DiT.create(c, g);
        if (!(model.blocks.get(0) instanceof DiTBlock block) || !(block.mlp instanceof Mlp mlp)) {
            throw new IllegalArgumentException("the profile breaks down the official adaLN-Zero block with the GELU MLP only");
        }
        int depth = c.depth(), heads = c.numHeads();
        long n = c.numPatches(), d = c.hiddenSize(), hd = d / heads;
        Tensor x = randn(g, rows, c.inChannels(), c.inputSize(), c.inputSize());
        Tensor t = torch.randint(0, 1000, new long[] {rows}, new GeneratorOptional(g), new TensorOptions(ScalarType.Long));
        Tensor y = torch.randint(0, c.numClasses(), new long[] {rows}, new GeneratorOptional(g), new TensorOptions(ScalarType.Long));
        Tensor tokens = randn(g, rows, n, d), cond = randn(g, rows, d), vec6 = randn(g, rows, d), wide = randn(g, rows, n, c.mlpHidden());
        Tensor q = randn(g, rows, heads, n, hd), k = randn(g, rows, heads, n, hd), v = randn(g, rows, heads, n, hd);
        if (train) for (Tensor a : new Tensor[] {tokens, cond, vec6, wide, q, k, v}) a.requires_grad_(true);

        Timer time = new Timer(precision, train);
        List<Part> parts = new ArrayList<>();
        parts.add(new Part("patch embed + pos_embed", 1, time.ms(() -> model.embedPatches(x))));
        parts.add(new Part("t_embedder + y_embedder", 1, time.ms(() -> model.conditioning(t, y))));
        parts.add(new Part("adaLN_modulation (SiLU, Linear D->6D)", depth, time.ms(() -> block.adaLN_modulation.linear.forward(torch.silu(cond)))));
        parts.add(new Part("LayerNorm + modulate", 2 * depth, time.ms(() -> Modulation.modulate(Modulation.layerNorm(tokens), vec6, vec6))));
        parts.add(new Part("attn.qkv (Linear D->3D)", depth, time.ms(() -> block.attn.qkv.forward(tokens))));
        parts.add(new Part("attention core (" + (precision == Precision.BFLOAT16 ? "two bf16 matmuls" : "fused SDPA") + ")", depth,
                time.ms(() -> Attention.attend(q, k, v))));
        parts.add(new Part("attn.proj (Linear D->D)", depth, time.ms(() -> block.attn.proj.forward(tokens))));
        parts.add(new Part("mlp.fc1 + GELU (D->4D)", depth, time.ms(() -> mlp.hidden(tokens))));
        parts.add(new Part("mlp.fc2 (4D->D)", depth, time.ms(() -> mlp.fc2.forward(wide))));
        parts.add(new Part("gated residual", 2 * depth, time.ms(() -> Modulation.gatedResidual(tokens, vec6, tokens))));
        parts.add(new Part("final layer + unpatchify", 1, time.ms(() -> model.head(tokens, cond))));
        double pass = time.ms(() -> model.forward(x, t, y));
        return new Report(parts, pass);
    }

    private static Tensor randn(Generator g, long... shape) {
        return torch.randn(shape, new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
    }

    /** Mean wall time of an operation after warm-up, each run in its own native scope. */
    private record Timer(Precision precision, boolean train) {
        double ms(Supplier<Tensor> op) {
            Runnable once = () -> {
                try (Step s = Step.open()) {
                    if (train) {
                        Tensor out;
                        try (Precision.Region r = precision.autocast()) {
                            out = op.get();
                        }
                        out.backward(torch.ones_like(out), new BoolOptional(), false, new TensorArrayRefOptional());
                    } else {
                        try (InferenceMode guard = new InferenceMode(); Precision.Region r = precision.autocast()) {
                            op.get();
                        }
                    }
                }
            };
            for (int i = 0; i < 2; i++) once.run();
            long t0 = System.nanoTime();
            int runs = 0;
            do {
                once.run();
                runs++;
            } while (runs < 3 || System.nanoTime() - t0 < 0.3e9);
            return (System.nanoTime() - t0) / 1e6 / runs;
        }
    }
}
