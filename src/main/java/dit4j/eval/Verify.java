package dit4j.eval;

import dit4j.diffusion.BetaSchedule;
import dit4j.diffusion.DdimSampler;
import dit4j.diffusion.DpmSolver;
import dit4j.diffusion.NoiseSchedule;
import dit4j.diffusion.VpSchedule;
import dit4j.flow.FlowPath;
import dit4j.flow.FlowSampler;
import dit4j.flow.FlowSchedule;
import dit4j.flow.Transport;
import dit4j.diffusion.DdpmSampler;
import dit4j.diffusion.Denoiser;
import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.diffusion.NoiseSource;
import dit4j.diffusion.Sampler;
import dit4j.io.StateDicts;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.runtime.Step;
import dit4j.runtime.TensorMath;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Checks a model against test vectors (the format of {@code docs/test-vectors.md}): runs every
 * group present and compares each expected tensor with {@code |got - want| <= atol + rtol * |want|}.
 */
public final class Verify {
    private Verify() {}

    public static final double DEFAULT_ATOL = 1e-4;
    public static final double DEFAULT_RTOL = 1e-3;
    public static final List<String> DIT_GROUPS = List.of("forward", "cfg", "loss", "grad", "pmv", "ddim", "ddpm", "dpm", "flow_loss", "flow_ode", "flow_sde");
    public static final List<String> VAE_GROUPS = List.of("vae_encode", "vae_sample", "vae_decode", "vae_recon");

    /** One compared tensor. */
    public record Line(String name, long[] shape, double maxAbs, double maxRel, boolean ok) {
        @Override
        public String toString() {
            return String.format("%-4s %-44s %-18s max abs %.3e  max rel %.3e", ok ? "ok" : "FAIL", name, Arrays.toString(shape), maxAbs, maxRel);
        }
    }

    /** What a run found: compared tensors and groups that could not be computed. */
    public record Report(List<Line> lines, List<String> errors, List<String> groups) {
        public boolean ok() {
            return errors.isEmpty() && !lines.isEmpty() && lines.stream().allMatch(Line::ok);
        }
    }

    /** Thrown for a missing or malformed input tensor; the message names it. */
    public static final class VectorException extends IllegalArgumentException {
        public VectorException(String message) {
            super(message);
        }
    }

    /** The groups present in a vector file: any prefix before a dot that is a known group. */
    public static List<String> groupsIn(Map<String, Tensor> vectors, List<String> known) {
        TreeSet<String> found = new TreeSet<>();
        for (String k : vectors.keySet()) {
            int dot = k.indexOf('.');
            if (dot > 0 && known.contains(k.substring(0, dot))) found.add(k.substring(0, dot));
        }
        List<String> ordered = new ArrayList<>();
        for (String g : known) if (found.contains(g)) ordered.add(g);
        return ordered;
    }

    /**
     * The diffusion a vector file was made with: {@code diffusion_steps}, {@code noise_schedule} and
     * the {@code create_diffusion} flags {@code predict_xstart}, {@code sigma_small}, {@code use_kl},
     * {@code rescale_learned_sigmas} ("true"/"false"; absent means the official default, false),
     * with learn_sigma taken from the model configuration.
     */
    public static DiffusionConfig diffusionOf(Map<String, String> metadata, DiTConfig model) {
        String stepsText = metadata.getOrDefault("diffusion_steps", "1000");
        int steps;
        try {
            steps = Integer.parseInt(stepsText.trim());
        } catch (NumberFormatException e) {
            throw new VectorException("metadata 'diffusion_steps' must be a whole number, got '" + stepsText + "'");
        }
        return new DiffusionConfig(metadata.getOrDefault("noise_schedule", "linear"), steps, model.learnSigma(),
                flag(metadata, "predict_xstart"), flag(metadata, "sigma_small"), flag(metadata, "use_kl"), flag(metadata, "rescale_learned_sigmas"));
    }

    private static boolean flag(Map<String, String> metadata, String key) {
        String v = metadata.get(key);
        if (v == null) return false;
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new VectorException("metadata '" + key + "' must be \"true\" or \"false\", got '" + v + "'");
        };
    }

    public static Report run(DiT model, DiffusionConfig diffusion, Map<String, Tensor> v, double atol, double rtol, Consumer<Line> onLine) {
        return run(model, diffusion, Map.of(), v, atol, rtol, onLine);
    }

    /** As above, with the file's metadata for the groups that read it ({@code dpm_skip_type} of {@code dpm}). */
    public static Report run(DiT model, DiffusionConfig diffusion, Map<String, String> metadata, Map<String, Tensor> v, double atol, double rtol,
                             Consumer<Line> onLine) {
        List<Line> lines = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<String> groups = groupsIn(v, DIT_GROUPS);
        Consumer<Line> add = l -> {
            lines.add(l);
            onLine.accept(l);
        };
        Checker c = new Checker(v, atol, rtol, add);
        model.eval();
        for (String group : groups) {
            try (Step s = Step.open()) {
                switch (group) {
                    case "forward" -> forward(model, c);
                    case "cfg" -> cfg(model, c);
                    case "loss" -> loss(model, diffusion, c);
                    case "grad" -> grad(model, diffusion, c);
                    case "pmv" -> pmv(model, diffusion, c);
                    case "ddim" -> ddim(model, diffusion, c);
                    case "ddpm" -> ddpm(model, diffusion, c);
                    case "dpm" -> dpm(model, diffusion, metadata, c);
                    case "flow_loss" -> flowLoss(model, metadata, c);
                    case "flow_ode" -> flowOde(model, metadata, c);
                    case "flow_sde" -> flowSde(model, metadata, c);
                    default -> throw new IllegalStateException(group);
                }
            } catch (RuntimeException e) {
                errors.add("group '" + group + "' could not be computed: " + oneLine(e));
            }
        }
        if (groups.isEmpty()) errors.add("no known group (" + String.join(", ", DIT_GROUPS) + ") in the vector file");
        return new Report(lines, errors, groups);
    }

    /** The VAE groups: posterior moments, a posterior sample with given noise, decode, reconstruction. */
    public static Report runVae(dit4j.vae.AutoencoderKL vae, Map<String, Tensor> v, double atol, double rtol, Consumer<Line> onLine) {
        List<Line> lines = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<String> groups = groupsIn(v, VAE_GROUPS);
        Checker c = new Checker(v, atol, rtol, l -> {
            lines.add(l);
            onLine.accept(l);
        });
        vae.eval();
        for (String group : groups) {
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                switch (group) {
                    case "vae_encode" -> {
                        dit4j.vae.AutoencoderKL.Posterior p = vae.encode(c.input("vae_encode.x", ScalarType.Float, 4));
                        c.compare("vae_encode.mean", p.mean());
                        c.compare("vae_encode.logvar", p.logvar());
                    }
                    case "vae_sample" -> c.compare("vae_sample.z",
                            vae.encode(c.input("vae_sample.x", ScalarType.Float, 4)).sample(c.input("vae_sample.noise", ScalarType.Float, 4)));
                    case "vae_decode" -> c.compare("vae_decode.out", vae.decode(c.input("vae_decode.z", ScalarType.Float, 4)));
                    case "vae_recon" -> c.compare("vae_recon.out", vae.decode(vae.encode(c.input("vae_recon.x", ScalarType.Float, 4)).mode()));
                    default -> throw new IllegalStateException(group);
                }
            } catch (RuntimeException e) {
                errors.add("group '" + group + "' could not be computed: " + oneLine(e));
            }
        }
        if (groups.isEmpty()) errors.add("no VAE group (" + String.join(", ", VAE_GROUPS) + ") in the vector file");
        return new Report(lines, errors, groups);
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static void forward(DiT model, Checker c) {
        try (InferenceMode g = new InferenceMode()) {
            Tensor x = c.input("forward.x", ScalarType.Float, 4);
            Tensor out = model.forward(x, c.input("forward.t", ScalarType.Long, 1), c.input("forward.y", ScalarType.Long, 1));
            c.compare("forward.out", out);
        }
    }

    private static void cfg(DiT model, Checker c) {
        try (InferenceMode g = new InferenceMode()) {
            Tensor out = model.forwardWithCfg(c.input("cfg.x", ScalarType.Float, 4), c.input("cfg.t", ScalarType.Long, 1),
                    c.input("cfg.y", ScalarType.Long, 1), c.scalar("cfg.scale"), 3);
            c.compare("cfg.out", out);
        }
    }

    private static GaussianDiffusion.Losses losses(DiT model, DiffusionConfig diffusion, Checker c) {
        Tensor y = c.input("loss.y", ScalarType.Long, 1);
        Denoiser denoiser = (x, t) -> model.forward(x, t, y);
        return diffusion.create("").trainingLosses(denoiser, c.input("loss.x_start", ScalarType.Float, 4),
                c.input("loss.t", ScalarType.Long, 1), c.input("loss.noise", ScalarType.Float, 4));
    }

    private static void loss(DiT model, DiffusionConfig diffusion, Checker c) {
        try (InferenceMode g = new InferenceMode()) {
            GaussianDiffusion.Losses l = losses(model, diffusion, c);
            c.compare("loss.loss", l.loss());
            if (c.has("loss.mse")) c.compare("loss.mse", l.mse());
            if (c.has("loss.vb")) {
                if (l.vb() == null) throw new IllegalArgumentException("loss.vb is expected but this model does not learn sigma");
                c.compare("loss.vb", l.vb());
            }
        }
    }

    private static void grad(DiT model, DiffusionConfig diffusion, Checker c) {
        Map<String, Tensor> params = StateDicts.trainable(model);
        model.zero_grad(true);
        losses(model, diffusion, c).loss().mean().backward();
        int compared = 0;
        for (String key : c.keysWithPrefix("grad.")) {
            String name = key.substring("grad.".length());
            Tensor p = params.get(name);
            if (p == null) {
                if (name.equals("pos_embed")) continue; // frozen: no gradient
                throw new VectorException(key + ": the model has no trainable parameter '" + name + "'");
            }
            Tensor g = p.grad();
            c.compare(key, g.defined() ? g : torch.zeros_like(p));
            compared++;
        }
        model.zero_grad(true);
        if (compared == 0) throw new VectorException("grad group has no grad.<parameter> tensors");
    }

    private static void pmv(DiT model, DiffusionConfig diffusion, Checker c) {
        try (InferenceMode g = new InferenceMode()) {
            Tensor y = c.input("pmv.y", ScalarType.Long, 1);
            GaussianDiffusion d = diffusion.create(Long.toString(c.count("pmv.respacing")));
            GaussianDiffusion.MeanVariance out = d.pMeanVariance((x, t) -> model.forward(x, t, y),
                    c.input("pmv.x", ScalarType.Float, 4), c.input("pmv.t", ScalarType.Long, 1), c.flag("pmv.clip_denoised"));
            c.compare("pmv.mean", out.mean());
            c.compare("pmv.variance", out.variance());
            c.compare("pmv.log_variance", out.logVariance());
            c.compare("pmv.pred_xstart", out.predXstart());
        }
    }

    private static void ddim(DiT model, DiffusionConfig diffusion, Checker c) {
        Tensor noise = c.input("ddim.noise", ScalarType.Float, 4);
        Tensor y = c.input("ddim.y", ScalarType.Long, 1);
        double scale = c.scalar("ddim.scale");
        GaussianDiffusion d = diffusion.create(Long.toString(c.count("ddim.respacing")));
        Sampler sampler = new DdimSampler(d, 0.0);
        Tensor out = sampler.sample((x, t) -> model.forwardWithCfg(x, t, y, scale, 3), noise,
                x -> torch.zeros_like(x), c.flag("ddim.clip_denoised"), Sampler.Progress.NONE);
        Tensor want = c.expected("ddim.sample");
        c.compare("ddim.sample", want.size(0) == out.size(0) ? out : out.narrow(0, 0, want.size(0)));
    }

    /** The official p_sample_loop with guidance; ddpm.noise[0] is x_T and ddpm.noise[k] the draw of step k. */
    private static void ddpm(DiT model, DiffusionConfig diffusion, Checker c) {
        Tensor noise = c.input("ddpm.noise", ScalarType.Float, 5);
        Tensor y = c.input("ddpm.y", ScalarType.Long, 1);
        double scale = c.scalar("ddpm.scale");
        GaussianDiffusion d = diffusion.create(Long.toString(c.count("ddpm.respacing")));
        if (noise.size(0) != d.numTimesteps + 1) {
            throw new VectorException("tensor 'ddpm.noise' has shape " + Tensors.shapeString(noise) + ": expected " + (d.numTimesteps + 1)
                    + " along dimension 0 (x_T, then one draw per step)");
        }
        int[] drawn = {0};
        NoiseSource injected = x -> {
            Tensor z = noise.select(0, ++drawn[0]);
            if (!Tensors.sameShape(z, x)) {
                throw new VectorException("'ddpm.noise' draws have shape " + Tensors.shapeString(z) + " but the samples have " + Tensors.shapeString(x));
            }
            return z;
        };
        Tensor out = new DdpmSampler(d).sample((x, t) -> model.forwardWithCfg(x, t, y, scale, 3), noise.select(0, 0), injected,
                c.flag("ddpm.clip_denoised"), Sampler.Progress.NONE);
        Tensor want = c.expected("ddpm.sample");
        c.compare("ddpm.sample", want.size(0) == out.size(0) ? out : out.narrow(0, 0, want.size(0)));
    }

    /**
     * LuChengTHU/dpm-solver's multistep DPM-Solver++ over {@code model_wrapper(model_type='noise'
     * (or 'x_start' with predict_xstart), guidance_type='classifier-free')}: the first C output
     * channels are the prediction, and guidance (unconditional half first) is on all of them; scale
     * 1 calls the model once, conditionally. The absolute tolerance is scaled by max(1, max|want|):
     * an eps model with random weights makes samples of size ~100, whose float32 rounding alone
     * exceeds a fixed absolute tolerance where a value happens to be near zero. A flow file
     * (metadata objective flow) runs the solver on its path ({@link FlowSchedule}) over SiT's model.
     */
    private static void dpm(DiT model, DiffusionConfig diffusion, Map<String, String> metadata, Checker c) {
        Tensor noise = c.input("dpm.noise", ScalarType.Float, 4);
        Tensor y = c.input("dpm.y", ScalarType.Long, 1);
        long steps = c.count("dpm.steps"), order = c.count("dpm.order");
        if (order > 3) throw new VectorException("tensor 'dpm.order' must be 1, 2 or 3, got " + order);
        double scale = c.scalar("dpm.scale");
        NoiseSchedule.SkipType skip;
        try {
            skip = NoiseSchedule.SkipType.parse(metadata.getOrDefault("dpm_skip_type", "time_uniform"));
        } catch (IllegalArgumentException e) {
            throw new VectorException("metadata 'dpm_skip_type': " + e.getMessage());
        }
        NoiseSchedule schedule;
        Denoiser guided;
        Tensor nulls = torch.full_like(y, new org.bytedeco.pytorch.Scalar(model.config.numClasses()));
        if ("flow".equals(metadata.get("objective"))) {
            // a flow file: its path as the schedule, the model as SiT's forward, or forward_with_cfg
            // over [x, x] and [y, null] keeping the first half
            schedule = new FlowSchedule(transportOf(metadata));
            Tensor yy = TensorMath.cat(0, y, nulls);
            guided = scale == 1.0 ? sitForward(model, y) : (x, t) -> sitGuided(model, yy, scale)
                    .apply(TensorMath.cat(0, x, x), TensorMath.cat(0, t, t)).narrow(0, 0, x.size(0));
        } else {
            long ch = noise.size(1);
            // x_0 models are guided on x_0: the reference guides the noise it derives from x_0, which is linear in it
            Denoiser eps = (x, t) -> model.forward(x, t, y).narrow(1, 0, ch);
            guided = scale == 1.0 ? eps : (x, t) -> {
                Tensor out = model.forward(TensorMath.cat(0, x, x), TensorMath.cat(0, t, t), TensorMath.cat(0, nulls, y)).narrow(1, 0, ch);
                Tensor[] halves = TensorMath.chunk(out, 2, 0);
                return TensorMath.add(halves[0], TensorMath.mul(scale, TensorMath.sub(halves[1], halves[0])));
            };
            schedule = new VpSchedule(BetaSchedule.named(diffusion.noiseSchedule(), diffusion.diffusionSteps()), diffusion.predictXstart());
        }
        try {
            schedule.timeSteps(skip, (int) steps);   // a log-SNR grid needs finite ends
        } catch (IllegalArgumentException e) {
            throw new VectorException("metadata 'dpm_skip_type': " + e.getMessage());
        }
        Sampler sampler = new DpmSolver(schedule, (int) steps, (int) order, skip, true);
        Tensor out = sampler.sample(guided, noise, x -> {
            throw new IllegalStateException("DPM-Solver++ draws no noise");
        }, false, Sampler.Progress.NONE);
        c.compareScaled("dpm.sample", out);
    }

    /** The transport of a flow file: metadata flow_path, flow_prediction, flow_loss_weight, SiT's eps rules. */
    private static Transport transportOf(Map<String, String> metadata) {
        try {
            return Transport.create(FlowPath.parse(metadata.getOrDefault("flow_path", "Linear")),
                    Transport.Prediction.parse(metadata.getOrDefault("flow_prediction", "velocity")),
                    Transport.LossWeight.parse(metadata.getOrDefault("flow_loss_weight", "none")));
        } catch (IllegalArgumentException e) {
            throw new VectorException("metadata: " + e.getMessage());
        }
    }

    /** SiT's models.py forward: the DiT with only the first C output channels. */
    private static Denoiser sitForward(DiT model, Tensor y) {
        long ch = model.config.inChannels();
        return (x, t) -> model.forward(x, t, y).narrow(1, 0, ch);
    }

    /** SiT's forward_with_cfg (first 3 channels of forward's output) when scale != 1, else forward. */
    private static Denoiser sitGuided(DiT model, Tensor y, double scale) {
        long ch = model.config.inChannels();
        if (scale == 1.0) return sitForward(model, y);
        return (x, t) -> model.forwardWithCfg(x, t, y, scale, 3).narrow(1, 0, ch);
    }

    private static double metaDouble(Map<String, String> metadata, String key, double dflt) {
        String v = metadata.get(key);
        if (v == null) return dflt;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new VectorException("metadata '" + key + "' must be a number, got '" + v + "'");
        }
    }

    private static void flowLoss(DiT model, Map<String, String> metadata, Checker c) {
        try (InferenceMode g = new InferenceMode()) {
            Tensor y = c.input("flow_loss.y", ScalarType.Long, 1);
            Tensor loss = transportOf(metadata).trainingLosses(sitForward(model, y), c.input("flow_loss.x1", ScalarType.Float, 4),
                    c.input("flow_loss.t", ScalarType.Float, 1), c.input("flow_loss.x0", ScalarType.Float, 4));
            c.compare("flow_loss.loss", loss);
        }
    }

    private static void flowOde(DiT model, Map<String, String> metadata, Checker c) {
        Tensor noise = c.input("flow_ode.noise", ScalarType.Float, 4);
        Tensor y = c.input("flow_ode.y", ScalarType.Long, 1);
        String method = metadata.getOrDefault("flow_ode_method", "dopri5");
        Tensor out;
        try {
            out = new FlowSampler(transportOf(metadata)).sampleOde(sitGuided(model, y, c.scalar("flow_ode.scale")), noise, method,
                    (int) c.count("flow_ode.steps"), metaDouble(metadata, "flow_ode_atol", 1e-6), metaDouble(metadata, "flow_ode_rtol", 1e-3),
                    Sampler.Progress.NONE);
        } catch (IllegalArgumentException e) {
            if (e instanceof VectorException) throw e;
            throw new VectorException("metadata 'flow_ode_method': " + e.getMessage());
        }
        Tensor want = c.expected("flow_ode.sample");
        c.compare("flow_ode.sample", want.size(0) == out.size(0) ? out : out.narrow(0, 0, want.size(0)));
    }

    private static void flowSde(DiT model, Map<String, String> metadata, Checker c) {
        Tensor noise = c.input("flow_sde.noise", ScalarType.Float, 4);
        Tensor y = c.input("flow_sde.y", ScalarType.Long, 1);
        Tensor w = c.input("flow_sde.w", ScalarType.Float, 5);
        int steps = (int) c.count("flow_sde.steps");
        if (w.size(0) != steps - 1) {
            throw new VectorException("tensor 'flow_sde.w' has shape " + Tensors.shapeString(w) + ": expected " + (steps - 1) + " draws along dimension 0");
        }
        String last = metadata.getOrDefault("flow_sde_last_step", "Mean");
        FlowSampler.SdeOptions o = new FlowSampler.SdeOptions(metadata.getOrDefault("flow_sde_method", "Euler"),
                metadata.getOrDefault("flow_sde_diffusion_form", "SBDM"), metaDouble(metadata, "flow_sde_diffusion_norm", 1.0),
                last.equals("None") ? null : last, metaDouble(metadata, "flow_sde_last_step_size", 0.04), steps);
        int[] drawn = {0};
        NoiseSource injected = x -> {
            if (drawn[0] >= w.size(0)) throw new VectorException("the SDE drew more noise than 'flow_sde.w' holds");
            Tensor z = w.select(0, drawn[0]++);
            if (!Tensors.sameShape(z, x)) throw new VectorException("'flow_sde.w' draws have shape " + Tensors.shapeString(z) + " but the samples have " + Tensors.shapeString(x));
            return z;
        };
        Tensor out = new FlowSampler(transportOf(metadata)).sampleSde(sitGuided(model, y, c.scalar("flow_sde.scale")), noise, o, injected,
                Sampler.Progress.NONE);
        Tensor want = c.expected("flow_sde.sample");
        c.compare("flow_sde.sample", want.size(0) == out.size(0) ? out : out.narrow(0, 0, want.size(0)));
    }

    /** Reads inputs with checks and compares outputs. */
    private static final class Checker {
        final Map<String, Tensor> v;
        final double atol, rtol;
        final Consumer<Line> add;

        Checker(Map<String, Tensor> v, double atol, double rtol, Consumer<Line> add) {
            this.v = v;
            this.atol = atol;
            this.rtol = rtol;
            this.add = add;
        }

        boolean has(String key) {
            return v.containsKey(key);
        }

        List<String> keysWithPrefix(String prefix) {
            List<String> out = new ArrayList<>();
            for (String k : v.keySet()) if (k.startsWith(prefix)) out.add(k);
            return out;
        }

        Tensor input(String key, ScalarType dtype, int dims) {
            Tensor t = v.get(key);
            if (t == null) throw new VectorException("missing tensor '" + key + "'");
            if (t.dim() != dims) throw new VectorException("tensor '" + key + "' has shape " + Tensors.shapeString(t) + ", expected " + dims + " dimensions");
            ScalarType got = Tensors.dtype(t);
            boolean intWanted = dtype == ScalarType.Long;
            boolean isInt = got == ScalarType.Long || got == ScalarType.Int;
            if (intWanted != isInt) throw new VectorException("tensor '" + key + "' has dtype " + got + ", expected " + (intWanted ? "I64" : "F32"));
            return t.to(dtype);
        }

        double scalar(String key) {
            Tensor t = v.get(key);
            if (t == null) throw new VectorException("missing tensor '" + key + "'");
            if (t.numel() != 1) throw new VectorException("tensor '" + key + "' has shape " + Tensors.shapeString(t) + ", expected one value");
            return Tensors.toDoubles(t)[0];
        }

        /** An optional 0/1 switch; absent means false. */
        boolean flag(String key) {
            if (!v.containsKey(key)) return false;
            double d = scalar(key);
            if (d != 0 && d != 1) throw new VectorException("tensor '" + key + "' must be 0 or 1, got " + d);
            return d == 1;
        }

        long count(String key) {
            double d = scalar(key);
            if (d < 1 || d != Math.rint(d)) throw new VectorException("tensor '" + key + "' must be a positive whole number of steps, got " + d);
            return (long) d;
        }

        Tensor expected(String key) {
            Tensor t = v.get(key);
            if (t == null) throw new VectorException("missing expected tensor '" + key + "'");
            return t;
        }

        /** {@link #compare} with the absolute tolerance scaled by max(1, max|want|). */
        void compareScaled(String key, Tensor got) {
            double scale = Math.max(1.0, expected(key).abs().max().item_double());
            compare(key, got, atol * scale);
        }

        void compare(String key, Tensor got) {
            compare(key, got, atol);
        }

        void compare(String key, Tensor got, double atol) {
            Tensor want = expected(key);
            if (!Tensors.sameShape(want, got)) {
                throw new VectorException("'" + key + "': computed shape " + Tensors.shapeString(got) + " but the file has " + Tensors.shapeString(want));
            }
            float[] g = Tensors.toFloats(got), w = Tensors.toFloats(want);
            double maxAbs = 0, maxRel = 0;
            boolean ok = true;
            for (int i = 0; i < g.length; i++) {
                double diff = Math.abs((double) g[i] - w[i]);
                if (Double.isNaN(diff)) {
                    ok = g[i] != g[i] && w[i] != w[i] && ok; // NaN matches NaN only
                    continue;
                }
                if (!(diff <= atol + rtol * Math.abs(w[i]))) ok = false;
                maxAbs = Math.max(maxAbs, diff);
                if (w[i] != 0) maxRel = Math.max(maxRel, diff / Math.abs(w[i]));
            }
            add.accept(new Line(key, Tensors.shape(want), maxAbs, maxRel, ok));
        }
    }
}
