package dit4j.sample;

import dit4j.diffusion.DiffusionConfig;
import dit4j.flow.Transport;
import dit4j.io.CheckpointException;
import dit4j.io.StateDicts;
import dit4j.runtime.Step;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import dit4j.model.Arch;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.io.CheckpointFile;
import dit4j.model.Pretrained;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint loaded for sampling, with what its training run recorded: the diffusion, class
 * names, whether it is a latent model and with which VAE, and its sampling defaults.
 */
public record SampleModel(Pretrained pretrained, DiffusionConfig diffusion, List<String> classNames, boolean latent,
                          double latentScaling, Path recordedVae, Transport transport) {

    public static SampleModel load(Path checkpoint, boolean preferEma, int numHeads) throws IOException {
        return load(checkpoint, preferEma, numHeads, 0);
    }

    /**
     * The checkpoint's model for images of {@code imageSize} pixels (0: the trained size; a latent,
     * 4-channel model takes 8 pixels per latent). Only a model with rotary position embeddings has
     * no table tied to its size, so only it may run at another.
     */
    public static SampleModel load(Path checkpoint, boolean preferEma, int numHeads, int imageSize) throws IOException {
        DiTConfig sized = null;
        if (imageSize > 0) {
            DiTConfig trained = Pretrained.configOf(CheckpointFile.read(checkpoint, preferEma), numHeads);
            boolean latentModel = trained.inChannels() == 4;
            if (latentModel && imageSize % 8 != 0) throw new dit4j.OptionException("--image-size " + imageSize + " must be a positive multiple of 8 (the VAE downsampling factor)");
            int inputSize = latentModel ? imageSize / 8 : imageSize;
            if (trained.inputSize() != inputSize && trained.arch().pos() != Arch.Pos.ROPE) {
                throw new dit4j.OptionException("--image-size: " + checkpoint.getFileName() + " was trained at input size " + trained.inputSize()
                        + " with a sin-cos position table; only --pos rope models run at another size");
            }
            sized = trained.withInputSize(inputSize);
        }
        Pretrained p = Pretrained.load(checkpoint, sized, preferEma, numHeads);
        checkFinite(p);
        Map<String, Object> args = p.file().args();
        Object steps = args.getOrDefault("diffusion_steps", 1000);
        if (!(steps instanceof Number k) || k.longValue() < 1 || k.longValue() > 100_000 || k.doubleValue() != k.longValue()) {
            throw new CheckpointException(checkpoint + ": args.diffusion_steps must be an integer in [1, 100000], got " + steps);
        }
        String schedule = String.valueOf(args.getOrDefault("noise_schedule", "linear"));
        if (!schedule.equals("linear") && !schedule.equals("squaredcos_cap_v2")) {
            throw new CheckpointException(checkpoint + ": args.noise_schedule must be linear or squaredcos_cap_v2, got '" + schedule + "'");
        }
        DiffusionConfig dc = DiffusionConfig.defaults().withSchedule(schedule, ((Number) steps).intValue()).withLearnSigma(p.config().learnSigma());
        // Ours record a latent scaling; an official checkpoint (no such record) with 4 input channels is a latent model.
        boolean latent = args.get("latent_scaling") instanceof Number n ? n.doubleValue() > 0 : p.config().inChannels() == 4;
        double scaling = args.get("latent_scaling") instanceof Number n && n.doubleValue() > 0 ? n.doubleValue() : 0;
        Path vae = args.get("vae_path") instanceof String recorded && Files.exists(Path.of(recorded)) ? Path.of(recorded) : null;
        return new SampleModel(p, dc, classNames(args, p.config().numClasses()), latent, scaling, vae, Transport.fromArgs(args));
    }

    /**
     * This model sampled as a flow with {@code t}: for bare state dicts that do not record their
     * objective, such as the official SiT checkpoints (same backbone, SiT's transport).
     */
    public SampleModel withTransport(Transport t) {
        return new SampleModel(pretrained, diffusion, classNames, latent, latentScaling, recordedVae, t);
    }

    /** NaN or infinite weights would sample black images and exit 0: refuse them, naming the first. */
    private static void checkFinite(Pretrained p) throws CheckpointException {
        for (Map.Entry<String, Tensor> e : StateDicts.of(p.model()).entrySet()) {
            try (Step s = Step.open()) {
                if (!torch.isfinite(e.getValue()).all().item_bool()) {
                    String which = p.file().weightsKey().isEmpty() ? "" : " ['" + p.file().weightsKey() + "']";
                    throw new CheckpointException(p.file().path() + which + ": tensor '" + e.getKey() + "' holds NaN or infinite values");
                }
            }
        }
    }

    /** Generation with this checkpoint's diffusion, or the flow transport its run recorded. */
    public Generation generation() {
        return new Generation(model(), diffusion).flow(transport);
    }

    public DiT model() {
        return pretrained.model();
    }

    public int numClasses() {
        return pretrained.config().numClasses();
    }

    /** The sampling settings the training run recorded (the demo's, say), else the official sample.py's. */
    public Generation.Options defaults() {
        Map<String, Object> args = pretrained.file().args();
        Generation.Options official = Generation.Options.official();
        String ch = String.valueOf(args.getOrDefault("sample_cfg_channels", "3"));
        // a flow model that records no sampler: SiT's sample.py (dopri5 over 250 points)
        boolean flow = transport != null && !args.containsKey("sample_sampler");
        return new Generation.Options(
                flow ? "ode-dopri5" : String.valueOf(args.getOrDefault("sample_sampler", official.sampler())),
                String.valueOf(args.getOrDefault("sample_steps", official.steps())),
                official.eta(),
                ((Number) args.getOrDefault("sample_cfg_scale", official.cfgScale())).doubleValue(),
                Generation.Options.parseCfgChannels(ch),
                Boolean.TRUE.equals(args.get("sample_clip")),
                official.seed(), official.batchSize(), official.precision(),
                args.get("sample_cfg_lo") instanceof Number lo ? lo.doubleValue() : Double.NEGATIVE_INFINITY,
                args.get("sample_cfg_hi") instanceof Number hi ? hi.doubleValue() : Double.POSITIVE_INFINITY);
    }

    private static List<String> classNames(Map<String, Object> args, int numClasses) {
        if (args.get("class_names") instanceof List<?> l && l.size() == numClasses) {
            List<String> out = new ArrayList<>();
            for (Object o : l) out.add(String.valueOf(o));
            return out;
        }
        return numClasses == 1000 ? ClassNames.imagenet() : null;
    }
}
