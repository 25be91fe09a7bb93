package dit4j.sample;

import static dit4j.runtime.TensorMath.cat;

import dit4j.diffusion.AncestralSampler;
import dit4j.diffusion.BetaSchedule;
import dit4j.diffusion.DdimSampler;
import dit4j.diffusion.DpmSolver;
import dit4j.diffusion.VpSchedule;
import dit4j.diffusion.DdpmSampler;
import dit4j.diffusion.Denoiser;
import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.diffusion.Guidance;
import dit4j.diffusion.NoiseSchedule;
import dit4j.diffusion.NoiseSource;
import dit4j.diffusion.Sampler;
import dit4j.OptionException;
import dit4j.model.DiT;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.Arrays;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Class-conditional generation from a DiT, as the official {@code sample.py} does it: noise from a
 * seeded generator, the conditional and null-class halves in one batch, classifier-free guidance,
 * then DDPM or DDIM on a respaced schedule. The output is in the model's space (pixels in [-1, 1],
 * or latents for a latent model).
 */
public final class Generation {

    /**
     * @param sampler "ddpm", "ddim", or DPM-Solver++ multistep: "dpm++2m", "dpm++3m" (time-uniform
     *     steps), "dpm++2m-logsnr", "dpm++3m-logsnr" (steps uniform in log-SNR); for flow models
     *     also SiT's "ode", "ode-euler", "ode-dopri5", "sde"
     * @param steps respaced number of steps (e.g. 250), or a respacing spec such as "ddim50"
     * @param eta DDIM noise (0: deterministic)
     * @param cfgScale guidance scale; 1 turns guidance off (and halves the work)
     * @param cfgChannels leading output channels that get guidance: 3 is the official rule, 0 means all
     * @param clipDenoised clamp x_0 predictions to [-1, 1] (off in the official sampler)
     * @param seed seeds the one generator that draws all noise
     * @param batchSize images per batch; batches draw from the same generator in turn
     */
    /** The --sampler names. */
    public static final java.util.List<String> SAMPLERS = java.util.List.of("ddpm", "ddim", "dpm++2m", "dpm++3m", "dpm++2m-logsnr", "dpm++3m-logsnr",
            "ode", "ode-euler", "ode-dopri5", "sde");

    public record Options(String sampler, String steps, double eta, double cfgScale, int cfgChannels,
                          boolean clipDenoised, long seed, int batchSize, Precision precision, double cfgLo, double cfgHi) {

        /** Guidance at every step. */
        public Options(String sampler, String steps, double eta, double cfgScale, int cfgChannels,
                       boolean clipDenoised, long seed, int batchSize, Precision precision) {
            this(sampler, steps, eta, cfgScale, cfgChannels, clipDenoised, seed, batchSize, precision, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        }

        /** These options with guidance only where lo <= t <= hi (t as the model receives it; see {@link dit4j.diffusion.Guidance}). */
        public Options withCfgInterval(double lo, double hi) {
            return new Options(sampler, steps, eta, cfgScale, cfgChannels, clipDenoised, seed, batchSize, precision, lo, hi);
        }

        /** These options at another precision. */
        public Options withPrecision(Precision p) {
            return new Options(sampler, steps, eta, cfgScale, cfgChannels, clipDenoised, seed, batchSize, p, cfgLo, cfgHi);
        }

        public boolean cfgEverywhere() {
            return cfgLo == Double.NEGATIVE_INFINITY && cfgHi == Double.POSITIVE_INFINITY;
        }

        /** "LO,HI" as --cfg-interval takes it. */
        public static double[] parseCfgInterval(String s) {
            String[] p = s.split(",");
            try {
                if (p.length == 2) {
                    double lo = Double.parseDouble(p[0].trim()), hi = Double.parseDouble(p[1].trim());
                    if (!Double.isNaN(lo) && !Double.isNaN(hi) && lo <= hi) return new double[] {lo, hi};
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new OptionException("--cfg-interval must be LO,HI with LO <= HI (timesteps as the model receives them, e.g. 0,700), got '" + s + "'");
        }

        /** The official sample.py: 250 DDPM steps, guidance 4.0 on 3 channels, seed 0 (in batches of 64). */
        public static Options official() {
            return new Options("ddpm", "250", 0.0, 4.0, 3, false, 0, 64, Precision.FLOAT32);
        }

        /** "3" (the official rule) or "all" (0). */
        public static int parseCfgChannels(String s) {
            if (s.equals("all")) return 0;
            try {
                int c = Integer.parseInt(s);
                if (c >= 1) return c;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new OptionException("--cfg-channels must be 3 (the official rule), another channel count, or all; got '" + s + "'");
        }

        /** Checks every value; the message names the flag. */
        public Options validate() {
            if (!SAMPLERS.contains(sampler)) throw new OptionException("--sampler must be one of " + String.join(", ", SAMPLERS) + ", got '" + sampler + "'");
            if ((sampler.startsWith("dpm++") || sampler.startsWith("ode") || sampler.equals("sde")) && !steps.trim().matches("[0-9]+")) {
                throw new OptionException("--num-sampling-steps for " + sampler + " must be a number of steps, e.g. 20, got '" + steps + "'");
            }
            if (!Double.isFinite(cfgScale) || cfgScale < 0) throw new OptionException("--cfg-scale must be a finite number >= 0 (1 is off), got " + cfgScale);
            if (!Double.isFinite(eta) || eta < 0) throw new OptionException("--eta must be a finite number >= 0, got " + eta);
            if (batchSize < 1) throw new OptionException("--batch-size must be positive, got " + batchSize);
            if (steps.isBlank()) throw new OptionException("--num-sampling-steps must be given, e.g. 250 or ddim50");
            if (Double.isNaN(cfgLo) || Double.isNaN(cfgHi) || cfgLo > cfgHi) throw new OptionException("--cfg-interval must have LO <= HI, got " + cfgLo + "," + cfgHi);
            return this;
        }
    }

    private final DiT model;
    private final DiffusionConfig diffusion;

    public Generation(DiT model, DiffusionConfig diffusion) {
        this.model = model;
        this.diffusion = diffusion;
    }

    public Sampler sampler(Options o) {
        o.validate();   // an unknown name is refused here, not taken for the branches' last case
        if (transport != null) return flowSampler(o);
        if (o.sampler().startsWith("ode") || o.sampler().equals("sde")) {
            throw new OptionException("--sampler " + o.sampler() + " is for flow-matching checkpoints (dit train --objective flow); this one is a diffusion model");
        }
        if (o.sampler().startsWith("dpm++")) {
            VpSchedule schedule = new VpSchedule(BetaSchedule.named(diffusion.noiseSchedule(), diffusion.diffusionSteps()), diffusion.predictXstart());
            return dpmSolver(schedule, o);
        }
        GaussianDiffusion d = diffusion.create(o.steps());
        return o.sampler().equals("ddpm") ? new DdpmSampler(d) : new DdimSampler(d, o.eta());
    }

    /** The transport of a flow-matching model (SiT); null for a diffusion model. */
    private dit4j.flow.Transport transport;

    /** Samples this model as a flow (SiT's transport); null keeps it a diffusion model. */
    public Generation flow(dit4j.flow.Transport t) {
        this.transport = t;
        return this;
    }

    /**
     * A flow model's samplers over --num-sampling-steps: SiT's own, where ode is torchdiffeq's heun2
     * (Heun's method) over that many time points, ode-euler Euler, ode-dopri5 the adaptive dopri5
     * (SiT's default; atol 1e-6, rtol 1e-3, the steps then only set the interval) and sde
     * Euler-Maruyama with sample.py's defaults (diffusion form sigma, norm 1, a Mean last step of
     * 0.04); and the Gaussian samplers on the flow's path (DPM-Solver++, DDPM's ancestral steps,
     * DDIM), since every SiT path is a Gaussian one.
     */
    private Sampler flowSampler(Options o) {
        if (!o.steps().trim().matches("[0-9]+")) {
            throw new OptionException("--num-sampling-steps for a flow-matching model must be a number of steps, e.g. 250, got '" + o.steps() + "'");
        }
        int steps = Integer.parseInt(o.steps().trim());
        dit4j.flow.FlowSchedule schedule = new dit4j.flow.FlowSchedule(transport);
        switch (o.sampler()) {
            case "ddpm":
                return new AncestralSampler(schedule, steps, 1.0);
            case "ddim":
                return new AncestralSampler(schedule, steps, o.eta());
            case "ode", "ode-euler", "ode-dopri5", "sde":
                break;
            default:
                return dpmSolver(schedule, o);
        }
        if (steps < 2) throw new OptionException("--num-sampling-steps for " + o.sampler() + " must be at least 2, got " + steps);
        dit4j.flow.FlowSampler fs = new dit4j.flow.FlowSampler(transport);
        long c = model.config.inChannels();
        return switch (o.sampler()) {
            case "ode" -> fs.ode("heun2", steps, c);
            case "ode-euler" -> fs.ode("euler", steps, c);
            case "ode-dopri5" -> fs.ode("dopri5", steps, c);
            default -> fs.sde(new dit4j.flow.FlowSampler.SdeOptions("Euler", "sigma", 1.0, "Mean", 0.04, steps), c);
        };
    }

    /** LuChengTHU/dpm-solver's multistep DPM-Solver++ with lower_order_final, on the model's schedule. */
    private Sampler dpmSolver(NoiseSchedule schedule, Options o) {
        int order = o.sampler().charAt(5) - '0';
        NoiseSchedule.SkipType skip = o.sampler().endsWith("-logsnr") ? NoiseSchedule.SkipType.LOG_SNR : NoiseSchedule.SkipType.TIME_UNIFORM;
        int steps = Integer.parseInt(o.steps().trim());
        if (steps < order) throw new OptionException("--num-sampling-steps for " + o.sampler() + " must be at least " + order + ", got " + steps);
        try {
            schedule.timeSteps(skip, steps);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--sampler " + o.sampler() + ": " + e.getMessage());
        }
        return new DpmSolver(schedule, steps, order, skip, true);
    }

    /** Images for {@code labels}, shape (N, C, H, W), float32. Progress counts steps over all batches. */
    public Tensor generate(long[] labels, Options o, Sampler.Progress progress) {
        int classes = model.config.numClasses();
        for (long y : labels) {
            if (y < 0 || y >= classes) throw new IllegalArgumentException("class label " + y + " is outside [0, " + classes + ") for this model");
        }
        boolean guided = o.cfgScale() != 1.0;
        if (guided && !model.config.hasNullClass()) {
            throw new IllegalArgumentException("this model has no null class (trained with class dropout 0), so it cannot use guidance: pass --cfg-scale 1");
        }
        o.validate();
        Sampler sampler = sampler(o);
        dit4j.runtime.Threads.configureFor(o.precision());
        int c = model.config.inChannels(), s = model.config.inputSize();
        Generator gen = torch.createCPUGenerator(o.seed());
        Tensor out = torch.empty(new long[] {labels.length, c, s, s}, new TensorOptions(ScalarType.Float), null);
        int batches = (labels.length + o.batchSize() - 1) / o.batchSize();
        int total = batches * sampler.steps();
        model.eval();
        for (int b = 0; b < batches; b++) {
            int from = b * o.batchSize(), n = Math.min(o.batchSize(), labels.length - from);
            int done = b * sampler.steps();
            try (Step step = Step.open(); InferenceMode guard = new InferenceMode()) {
                Tensor z = torch.randn(new long[] {n, c, s, s}, new GeneratorOptional(gen), new TensorOptions(ScalarType.Float));
                Tensor y = Tensors.longs(Arrays.copyOfRange(labels, from, from + n));
                Tensor result = sampleBatch(sampler, z, y, NoiseSource.of(gen), o, (k, steps) -> progress.onStep(done + k, total));
                out.narrow(0, from, n).copy_(result);
            }
        }
        return out;
    }

    /**
     * One batch: x_T {@code z} (N rows) for labels {@code y}, per-step noise from {@code noise}
     * (asked for tensors shaped like the model input: 2N rows under guidance, of which the model
     * reads the first N). Returns the N samples; call inside a {@link Step} and InferenceMode.
     */
    public Tensor sampleBatch(Sampler sampler, Tensor z, Tensor y, NoiseSource noise, Options o, Sampler.Progress progress) {
        int classes = model.config.numClasses(), c = model.config.inChannels();
        int guidedChannels = o.cfgChannels() <= 0 ? c : o.cfgChannels();
        long n = z.size(0);
        Denoiser denoiser;
        if (o.cfgScale() != 1.0) {
            long[] nulls = new long[(int) n];
            Arrays.fill(nulls, classes);
            z = cat(0, z, z);
            Tensor yy = cat(0, y, Tensors.longs(nulls).to(y.device(), y.scalar_type()));
            denoiser = o.cfgEverywhere()
                    ? (x, t) -> {
                        try (Precision.Region r = o.precision().autocast(x.device())) {
                            return model.forwardWithCfg(x, onDeviceOf(t, x), yy, o.cfgScale(), guidedChannels).to(ScalarType.Float);
                        }
                    }
                    : Guidance.cfg((x, t, labels) -> {
                        try (Precision.Region r = o.precision().autocast(x.device())) {
                            return model.forward(x, onDeviceOf(t, x), labels).to(ScalarType.Float);
                        }
                    }, yy, o.cfgScale(), guidedChannels, o.cfgLo(), o.cfgHi());
        } else {
            denoiser = (x, t) -> {
                try (Precision.Region r = o.precision().autocast(x.device())) {
                    return model.forward(x, onDeviceOf(t, x), y).to(ScalarType.Float);
                }
            };
        }
        return sampler.sample(denoiser, z, noise, o.clipDenoised(), progress).narrow(0, 0, n);
    }

    /** The samplers make their time tensors on the CPU (flow and DPM-Solver times): they go to the model's device here. */
    private static Tensor onDeviceOf(Tensor t, Tensor x) {
        return dit4j.runtime.Devices.to(t, x.device());
    }
}
