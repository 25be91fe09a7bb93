package dit4j.cli;

import dit4j.model.Arch;
import dit4j.model.ConfigInference;
import dit4j.model.DiTConfig;
import picocli.CommandLine.Option;

/** Flags that choose a model configuration: an official name, optionally overridden piece by piece. */
public final class ModelOptions {
    @Option(names = "--model", description = "Official configuration (DiT-S/2 ... DiT-XL/8), which --depth/--hidden-size/--num-heads/--patch/--mlp-ratio override piece by piece. Default: ${DEFAULT-VALUE} (the official scripts default to DiT-XL/2, beyond a CPU).", defaultValue = "DiT-S/2")
    public String model;

    @Option(names = "--in-channels", description = "Input channels (4 for SD-VAE latents).")
    public Integer inChannels;

    @Option(names = "--num-classes", description = "Number of classes (the null class is added when --class-dropout > 0).")
    public Integer numClasses;

    @Option(names = "--depth", description = "Number of DiT blocks.")
    public Integer depth;

    @Option(names = "--hidden-size", description = "Transformer width.")
    public Integer hiddenSize;

    @Option(names = "--num-heads", description = "Attention heads.")
    public Integer heads;

    @Option(names = "--heads", hidden = true, description = "Old name of --num-heads.")
    void oldHeads(int h) {
        heads = h;
    }

    @Option(names = "--patch", description = "Patch size.")
    public Integer patch;

    @Option(names = "--mlp-ratio", description = "MLP width as a multiple of the hidden size.")
    public Double mlpRatio;

    @Option(names = "--learn-sigma", negatable = true, description = "Predict the variance as well (default: true).")
    public Boolean learnSigma;

    @Option(names = "--class-dropout", description = "Label dropout probability for classifier-free guidance (default 0.1).")
    public Double classDropout;

    @Option(names = "--block", paramLabel = "DESIGN", description = "Conditioning design of the blocks (the paper's Section 3.2): adaln-zero (official), adaln, cross-attention, in-context. Default: adaln-zero.")
    public String block;

    @Option(names = "--qk-norm", paramLabel = "NORM", description = "Normalise queries and keys per head before attention: none, layernorm, rmsnorm. Default: none.")
    public String qkNorm;

    @Option(names = "--pos", paramLabel = "KIND", description = "Position information: sincos (the official added table) or rope (2-D rotary embeddings on q and k; the model then samples at other sizes). Default: sincos.")
    public String pos;

    @Option(names = "--mlp", paramLabel = "KIND", description = "Feed-forward layer: gelu (official) or swiglu (2/3 of the hidden width, same parameter count). Default: gelu.")
    public String mlp;

    @Option(names = "--norm", paramLabel = "KIND", description = "Normalisation in blocks and final layer: layernorm (official) or rmsnorm. Default: layernorm.")
    public String norm;

    /** The architecture these flags choose; unset flags keep the official choice. */
    public Arch arch() {
        Arch o = Arch.OFFICIAL;
        return new Arch(
                block != null ? Arch.parse(Arch.Block.class, "--block", block) : o.block(),
                qkNorm != null ? Arch.parse(Arch.QkNorm.class, "--qk-norm", qkNorm) : o.qkNorm(),
                pos != null ? Arch.parse(Arch.Pos.class, "--pos", pos) : o.pos(),
                mlp != null ? Arch.parse(Arch.MlpKind.class, "--mlp", mlp) : o.mlp(),
                norm != null ? Arch.parse(Arch.NormKind.class, "--norm", norm) : o.norm());
    }

    /** The configuration these flags describe; input size, channels and classes default to what the data says. */
    public DiTConfig build(int input, int defaultInChannels, int defaultNumClasses) {
        try {
            return resolve(input, defaultInChannels, defaultNumClasses);
        } catch (dit4j.OptionException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new dit4j.OptionException("model: " + e.getMessage());
        }
    }

    private DiTConfig resolve(int input, int defaultInChannels, int defaultNumClasses) {
        int inC = inChannels != null ? inChannels : defaultInChannels;
        int classes = numClasses != null ? numClasses : defaultNumClasses;
        boolean sigma = learnSigma == null || learnSigma;
        double dropout = classDropout != null ? classDropout : 0.1;
        // The named configuration supplies what is not overridden; it is built at a size its own
        // patch divides, so that an overridden --patch is what the real input size is checked against.
        DiTConfig base = DiTConfig.named(model, 8 * 8, inC, classes, sigma, dropout);
        int d = hiddenSize != null ? hiddenSize : base.hiddenSize();
        int h = heads != null ? heads : hiddenSize != null ? ConfigInference.defaultHeads(d) : base.numHeads();
        return new DiTConfig(input, patch != null ? patch : base.patchSize(), inC, d,
                depth != null ? depth : base.depth(), h, mlpRatio != null ? mlpRatio : base.mlpRatio(), dropout, classes, sigma, arch());
    }

    /** The latent side for an image side, through the VAE's 8x downsampling. */
    public static int latentSize(int imageSize) {
        if (imageSize < 8 || imageSize % 8 != 0) throw new dit4j.OptionException("--image-size " + imageSize + " must be a positive multiple of 8 (the VAE downsampling factor)");
        return imageSize / 8;
    }
}
