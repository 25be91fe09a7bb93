package dit4j.eval;

import dit4j.model.AdaLNBlock;
import dit4j.model.AdaLNModulation;
import dit4j.model.Arch;
import dit4j.model.Attention;
import dit4j.model.Block;
import dit4j.model.CrossAttention;
import dit4j.model.CrossAttentionBlock;
import dit4j.model.DiT;
import dit4j.model.DiTBlock;
import dit4j.model.DiTConfig;
import dit4j.model.FeedForward;
import dit4j.model.Mlp;
import dit4j.model.Modulation;
import dit4j.model.Norm;
import dit4j.model.SwiGLU;
import dit4j.model.ViTBlock;
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
 * alone on inputs of the real shapes (any block design and option: the parts follow the block) (forward only for sampling, forward and backward for
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
        Layers l = Layers.of(model.blocks.get(0));
        Arch a = c.arch();
        boolean inContext = a.block() == Arch.Block.IN_CONTEXT, sequence = inContext || a.block() == Arch.Block.CROSS_ATTENTION;
        int depth = c.depth(), heads = c.numHeads();
        // in-context blocks see the patches and the t, y tokens
        long n = c.numPatches() + (inContext ? 2 : 0), d = c.hiddenSize(), hd = d / heads;
        Tensor x = randn(g, rows, c.inChannels(), c.inputSize(), c.inputSize());
        Tensor t = torch.randint(0, 1000, new long[] {rows}, new GeneratorOptional(g), new TensorOptions(ScalarType.Long));
        Tensor y = torch.randint(0, c.numClasses(), new long[] {rows}, new GeneratorOptional(g), new TensorOptions(ScalarType.Long));
        Tensor tokens = randn(g, rows, n, d), patches = randn(g, rows, c.numPatches(), d), vec = randn(g, rows, d), ctx = randn(g, rows, 2, d);
        Tensor q = randn(g, rows, heads, n, hd), k = randn(g, rows, heads, n, hd), v = randn(g, rows, heads, n, hd);
        Tensor kc = randn(g, rows, heads, 2, hd), vc = randn(g, rows, heads, 2, hd);
        long hidden = l.mlp instanceof SwiGLU ? SwiGLU.hiddenFor(c.mlpHidden()) : c.mlpHidden();
        Tensor wide = randn(g, rows, n, hidden);
        Tensor cond = sequence ? ctx : vec;
        if (train) for (Tensor u : new Tensor[] {tokens, patches, vec, ctx, q, k, v, kc, vc, wide}) u.requires_grad_(true);

        Timer time = new Timer(precision, train);
        String norm = a.norm() == Arch.NormKind.RMSNORM ? "RMSNorm" : "LayerNorm";
        List<Part> parts = new ArrayList<>();
        parts.add(new Part(model.pos_embed != null ? "patch embed + pos_embed" : "patch embed", 1, time.ms(() -> model.embedPatches(x))));
        parts.add(new Part("t_embedder + y_embedder", 1, time.ms(() -> model.conditioning(t, y))));
        if (inContext) parts.add(new Part("append the t, y tokens", 1, time.ms(() -> model.enter(patches, ctx))));
        if (l.modulation != null) {
            long k6 = l.modulation.linear.weight.size(0) / d;
            parts.add(new Part("adaLN_modulation (SiLU, Linear D->" + k6 + "D)", depth, time.ms(() -> l.modulation.linear.forward(torch.silu(vec)))));
            parts.add(new Part(norm + " + modulate", l.norms * depth, time.ms(() -> Modulation.modulate(l.norm.forward(tokens), vec, vec))));
        } else {
            parts.add(new Part(norm + " (affine)", l.norms * depth, time.ms(() -> l.norm.forward(tokens))));
        }
        parts.add(new Part("attn.qkv (Linear D->3D)", depth, time.ms(() -> l.attn.qkv.forward(tokens))));
        if (l.attn.q_norm != null) parts.add(new Part("attn.q_norm, k_norm (per head)", 2 * depth, time.ms(() -> l.attn.q_norm.forward(q))));
        if (l.attn.rope() != null) parts.add(new Part("rotary embedding of q, k", 2 * depth, time.ms(() -> l.attn.rope().apply(q))));
        String core = precision == Precision.BFLOAT16 ? "two bf16 matmuls" : "fused SDPA";
        parts.add(new Part("attention core (" + core + ", " + n + " tokens)", depth, time.ms(() -> Attention.attend(q, k, v))));
        parts.add(new Part("attn.proj (Linear D->D)", depth, time.ms(() -> l.attn.proj.forward(tokens))));
        if (l.cross != null) {
            parts.add(new Part("cross_attn.q_linear (Linear D->D)", depth, time.ms(() -> l.cross.q_linear.forward(tokens))));
            parts.add(new Part("cross_attn.kv_linear (2 tokens, D->2D)", depth, time.ms(() -> l.cross.kv_linear.forward(ctx))));
            parts.add(new Part("cross-attention core (to 2 tokens)", depth, time.ms(() -> Attention.attend(q, kc, vc))));
            parts.add(new Part("cross_attn.proj (Linear D->D)", depth, time.ms(() -> l.cross.proj.forward(tokens))));
        }
        if (l.mlp instanceof Mlp mlp) {
            parts.add(new Part("mlp.fc1 + GELU (D->" + hidden + ")", depth, time.ms(() -> mlp.hidden(tokens))));
            parts.add(new Part("mlp.fc2 (" + hidden + "->D)", depth, time.ms(() -> mlp.fc2.forward(wide))));
        } else if (l.mlp instanceof SwiGLU sw) {
            parts.add(new Part("mlp.w12 + SiLU gate (D->2x" + hidden + ")", depth, time.ms(() -> sw.hidden(tokens))));
            parts.add(new Part("mlp.w3 (" + hidden + "->D)", depth, time.ms(() -> sw.w3.forward(wide))));
        }
        if (a.block() == Arch.Block.ADALN_ZERO) {
            parts.add(new Part("gated residual", 2 * depth, time.ms(() -> Modulation.gatedResidual(tokens, vec, tokens))));
        } else {
            parts.add(new Part("residual add", l.norms * depth, time.ms(() -> tokens.add(tokens))));
        }
        parts.add(new Part("final layer + unpatchify", 1, time.ms(() -> model.head(tokens, cond))));
        double pass = time.ms(() -> model.forward(x, t, y));
        return new Report(parts, pass);
    }

    /** The layers of a block of any design the profile times; the blocks' norms are all of one kind and width. */
    private record Layers(Norm norm, int norms, AdaLNModulation modulation, Attention attn, CrossAttention cross, FeedForward mlp) {
        static Layers of(Block b) {
            if (b instanceof DiTBlock x) return new Layers(x.norm1, 2, x.adaLN_modulation, x.attn, null, x.mlp);
            if (b instanceof AdaLNBlock x) return new Layers(x.norm1, 2, x.adaLN_modulation, x.attn, null, x.mlp);
            if (b instanceof CrossAttentionBlock x) return new Layers(x.norm1, 3, null, x.attn, x.cross_attn, x.mlp);
            if (b instanceof ViTBlock x) return new Layers(x.norm1, 2, null, x.attn, null, x.mlp);
            throw new IllegalArgumentException("the profile does not know the block " + b.getClass().getSimpleName());
        }
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
