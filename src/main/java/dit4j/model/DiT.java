package dit4j.model;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.cat;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import dit4j.io.CheckpointException;
import dit4j.io.StateDicts;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Diffusion model with a Transformer backbone (Peebles & Xie, 2022), parameter for parameter the
 * official {@code models.py}: the same names, shapes and initialisation, so state dicts move
 * between the two unchanged. {@link DiTConfig#arch} selects the paper's other conditioning designs
 * (adaLN, cross-attention, in-context) and descendants' options (qk-norm, RoPE, SwiGLU, RMSNorm).
 *
 * <p>Create it outside any {@link dit4j.runtime.Step}: its parameters live as long as the model.
 * Every submodule, plain containers included, is held by a Java field: libtorch calls virtual
 * methods such as {@code train()} on the Java peers, and a peer the GC collected would fail there.
 */
public final class DiT extends Module {
    public final DiTConfig config;
    public final PatchEmbed x_embedder;
    public final TimestepEmbedder t_embedder;
    public final LabelEmbedder y_embedder;
    /** The fixed sin-cos table, or null with rotary embeddings. */
    public final Tensor pos_embed;
    public final List<Block> blocks;
    public final FinalLayer final_layer;
    private final Module blockList;
    /** The rotary tables the blocks share, or null. */
    private final Rope rope;

    public DiT(DiTConfig config) {
        this.config = config;
        int d = config.hiddenSize();
        x_embedder = register_module("x_embedder", new PatchEmbed(config.inChannels(), d, config.patchSize()));
        t_embedder = register_module("t_embedder", new TimestepEmbedder(d));
        y_embedder = register_module("y_embedder", new LabelEmbedder(config.numClasses(), d, config.classDropoutProb()));
        Arch arch = config.arch();
        if (arch.pos() == Arch.Pos.SINCOS) {
            // A fixed table, but a parameter (requires_grad=False) as in the official state dict.
            pos_embed = Tensors.floats(PosEmbed.sincos2d(d, config.gridSize()), 1, config.numPatches(), d);
            register_parameter("pos_embed", pos_embed, false);
        } else {
            pos_embed = null;
        }
        rope = arch.pos() == Arch.Pos.ROPE ? new Rope(d / config.numHeads(), config.gridSize(), extraTokens()) : null;
        blockList = register_module("blocks", new Module());
        List<Block> list = new ArrayList<>();
        for (int i = 0; i < config.depth(); i++) {
            list.add(blockList.register_module(Integer.toString(i), Block.of(config, rope)));
        }
        blocks = Collections.unmodifiableList(list);
        final_layer = register_module("final_layer", new FinalLayer(d, config.patchSize(), config.outChannels(), arch.norm()));
        // Unlike a new nn.Module, a new DiT is in eval mode: training mode means label dropout,
        // which needs the trainer's generator (useGenerator), and TrainState sets both.
        eval();
    }

    /** A freshly initialised model, as the official constructor leaves it. */
    public static DiT create(DiTConfig config, Generator g) {
        DiT model = new DiT(config);
        model.initializeWeights(g);
        return model;
    }

    /** The official {@code initialize_weights}: xavier everywhere, N(0, 0.02) embeddings, zeroed adaLN and output. */
    public void initializeWeights(Generator g) {
        try (NoGradGuard guard = new NoGradGuard()) {
            x_embedder.initialize(g);
            t_embedder.initialize(g);
            y_embedder.initialize(g);
            for (Block block : blocks) block.initialize(g);
            final_layer.initialize();
        }
    }

    /**
     * Copies a state dict into the model ({@link StateDicts#load}); weights of another
     * architecture are refused with both designs named, not just the first odd key.
     */
    public void load(Map<String, Tensor> sd, String source) throws CheckpointException {
        load(sd, source, false);
    }

    /** Like {@link #load}, taking over the tensors' memory ({@link StateDicts#adopt}). */
    public void adopt(Map<String, Tensor> sd, String source) throws CheckpointException {
        load(sd, source, true);
    }

    private void load(Map<String, Tensor> sd, String source, boolean adopt) throws CheckpointException {
        Arch.Block theirs;
        try {
            theirs = ConfigInference.blockOf(sd.keySet(), k -> Tensors.shape(sd.get(k)));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source + ": " + e.getMessage());
        }
        // adaLN has adaLN-Zero's parameters: weights that read as adaLN-Zero may be either.
        boolean fits = theirs == config.block() || theirs == Arch.Block.ADALN_ZERO && config.block() == Arch.Block.ADALN;
        if (theirs != null && !fits) {
            throw new CheckpointException(source + ": the weights are of a DiT with " + theirs.id() + " blocks, but the model has "
                    + config.block().id() + " blocks (the checkpoint's recorded configuration, or --block " + theirs.id() + ")");
        }
        try {
            if (adopt) StateDicts.adopt(this, sd, source);
            else StateDicts.load(this, sd, source);
        } catch (CheckpointException e) {
            // An odd key of a non-official model is most likely an option set differently.
            if (config.arch().isOfficial()) throw e;
            throw new CheckpointException(e.getMessage() + "; the model is " + config.displayName() + " with " + config.arch().describe() + " blocks");
        }
    }

    /**
     * Moves the parameters and the rotary tables to {@code device}. The parameter tensors stay the
     * same objects ({@code Module.to} swaps their data), so handles held elsewhere (an optimizer's,
     * an EMA's) follow. Call outside any {@link dit4j.runtime.Step}.
     */
    public DiT moveTo(org.bytedeco.pytorch.Device device) {
        to(device, false);
        if (rope != null) rope.moveTo(device);
        return this;
    }

    /** The generator that training-mode label dropout draws from. */
    public void useGenerator(Generator g) {
        y_embedder.dropoutRng = g;
    }

    /**
     * @param x (N, C, H, W) inputs, images or latents
     * @param t (N) integer timesteps
     * @param y (N) class labels; {@code numClasses} is the null class (dropped to it at random in training mode)
     * @return (N, outChannels, H, W)
     */
    public Tensor forward(Tensor x, Tensor t, Tensor y) {
        Tensor c = conditioning(t, y);
        Tensor h = enter(embedPatches(x), c);
        // Native memory is scoped once per block: each block's temporaries die as it returns.
        for (Block block : blocks) {
            Tensor in = h;
            h = Step.nested(() -> block.forward(in, c));
        }
        return head(h, c);
    }

    /** Patch tokens with position embedding: {@code x_embedder(x) + pos_embed} (rotary embeddings act in attention instead). */
    public Tensor embedPatches(Tensor x) {
        checkInput(x);
        Tensor tokens = x_embedder.forward(x);
        return pos_embed != null ? tokens.add(pos_embed) : tokens;
    }

    /**
     * The conditioning: {@code c = t_embedder(t) + y_embedder(y)}, (N, D), for the adaLN designs;
     * the sequence {@code [t_embedder(t), y_embedder(y)]}, (N, 2, D), for in-context and cross-attention.
     */
    public Tensor conditioning(Tensor t, Tensor y) {
        Tensor te = t_embedder.forward(t), ye = y_embedder.forward(y);
        return conditionIsSequence() ? torch.stack(new TensorVector(te, ye), 1) : te.add(ye);
    }

    /** The sequence the blocks see: the patch tokens, followed for in-context by the t and y tokens. */
    public Tensor enter(Tensor patches, Tensor c) {
        return config.block() == Arch.Block.IN_CONTEXT ? cat(1, patches, c) : patches;
    }

    /** Final layer and unpatchify; in-context's t and y tokens are dropped first. */
    public Tensor head(Tensor h, Tensor c) {
        if (extraTokens() > 0) h = h.narrow(1, 0, config.numPatches());
        // The final layer keeps the official adaLN modulation by t + y whatever the blocks' design.
        Tensor vector = conditionIsSequence() ? c.sum(1) : c;
        return unpatchify(final_layer.forward(h, vector));
    }

    private boolean conditionIsSequence() {
        return config.block() == Arch.Block.IN_CONTEXT || config.block() == Arch.Block.CROSS_ATTENTION;
    }

    /** Tokens the blocks see beyond the patches. */
    private int extraTokens() {
        return config.block() == Arch.Block.IN_CONTEXT ? 2 : 0;
    }

    /**
     * Classifier-free guidance in one batched pass. The second half of {@code x} is ignored and
     * replaced by the first; {@code y} holds the conditional labels then the null labels.
     *
     * @param guidedChannels how many leading output channels get guidance: 3 is the official rule
     *     (kept for bit-compatibility with official checkpoints), {@code inChannels} guides all of eps
     */
    public Tensor forwardWithCfg(Tensor x, Tensor t, Tensor y, double cfgScale, int guidedChannels) {
        long half = x.size(0) / 2;
        Tensor h = x.narrow(0, 0, half);
        Tensor modelOut = forward(cat(0, h, h), t, y);
        long outC = modelOut.size(1);
        long ch = Math.min(guidedChannels, outC);
        Tensor eps = modelOut.narrow(1, 0, ch), rest = modelOut.narrow(1, ch, outC - ch);
        Tensor condEps = eps.narrow(0, 0, half), uncondEps = eps.narrow(0, half, half);
        Tensor halfEps = add(uncondEps, mul(cfgScale, sub(condEps, uncondEps)));
        eps = cat(0, halfEps, halfEps);
        return ch == outC ? eps : cat(1, eps, rest);
    }

    /** (N, T, p*p*C) -> (N, C, H, W). */
    public Tensor unpatchify(Tensor x) {
        int c = config.outChannels(), p = config.patchSize(), g = config.gridSize();
        return x.reshape(x.size(0), g, g, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(x.size(0), c, (long) g * p, (long) g * p);
    }

    private void checkInput(Tensor x) {
        if (x.dim() != 4 || x.size(1) != config.inChannels() || x.size(2) != config.inputSize() || x.size(3) != config.inputSize()) {
            throw new IllegalArgumentException("model input x has shape " + Tensors.shapeString(x) + ", expected [N, "
                    + config.inChannels() + ", " + config.inputSize() + ", " + config.inputSize() + "]");
        }
    }
}
