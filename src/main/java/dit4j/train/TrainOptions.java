package dit4j.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dit4j.OptionException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything a training run is made of, and the one place its defaults live: the official
 * {@code train.py} recipe (AdamW lr 1e-4, no weight decay, EMA 0.9999, global batch 256, 1000-step
 * linear schedule), except the model, DiT-S/2 rather than the official DiT-XL/2, which is beyond a
 * CPU. {@code dit train}'s flags write straight into these fields. Saved in each
 * checkpoint as {@code args} (snake_case keys, the official names where one exists) so that a run
 * can be resumed or inspected from its checkpoint alone.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class TrainOptions {
    // data
    public String dataPath;
    public String split = "train";
    public int imageSize;            // 0: the data's own size
    public int channels;             // 0: the data's own channels
    public boolean flip = true;
    public boolean skipBad;
    public int numWorkers = 1;
    public java.util.List<String> classNames;
    public String featuresPath;      // a latent store (dit extract-features)
    public String vaePath;           // a VAE: encode images on the fly; recorded for sampling
    public String vaeConfigPath;     // config.json for a VAE given as a single weights file
    public double latentScaling;     // 0 for pixel-space models

    // model and diffusion
    public String model = "DiT-S/2";
    public Map<String, Object> ditConfig;   // the full DiTConfig as JSON
    public String noiseSchedule = "linear";
    public int diffusionSteps = 1000;
    public String objective = "diffusion";  // or "flow": SiT's transport
    public String flowPath = "Linear";       // Linear, GVP or VP
    public String flowPrediction = "velocity"; // velocity, score or noise
    public String flowLossWeight = "none";   // none, velocity or likelihood (score and noise models)
    public String flowTimeSampling = "uniform"; // uniform (SiT) or logit-normal[:M,S]

    // optimisation (official: AdamW lr 1e-4, no weight decay, EMA 0.9999, batch 256)
    public int globalBatchSize = 256;
    public long steps;               // 0: use epochs
    public int epochs = 1400;
    public double lr = 1e-4;
    public double weightDecay = 0;
    public double emaDecay = 0.9999;
    public boolean emaWarmup;        // decay min(ema_decay, (1 + step) / (10 + step))
    public int warmupSteps;          // linear learning-rate warmup
    public String lrSchedule = "constant";   // or "cosine"
    public double minLrRatio = 0.1;  // cosine floor as a fraction of lr
    public double gradClip;          // 0: off
    public boolean gradCheckpoint;   // recompute blocks in backward to save memory
    public long globalSeed;
    public String precision = "float32";

    // run
    public String resultsDir = "results";
    public String runDir;            // explicit run folder (else results/NNN-model)
    public int logEvery = 100;
    public long ckptEvery = 50_000;
    public double minutes;           // time budget; 0: none
    public String device = "cpu";   // where this process computes; not carried over on resume

    // sampling defaults recorded for `dit sample`
    public String sampleSampler = "ddpm";
    public int sampleSteps = 250;
    public double sampleCfgScale = 4.0;
    public String sampleCfgChannels = "3";  // "3" (official) or "all"
    public boolean sampleClip;              // clamp x0 to [-1, 1] (pixel models)
    public Double sampleCfgLo, sampleCfgHi; // guidance interval; null: every step

    // evaluation during training (TrainEval): FID and IS of eval_samples EMA samples
    public long evalEvery;           // 0: only at the end, when eval_ref is given
    public String evalRef;           // reference: .npz batch, image folder or statistics .npz
    public int evalSamples = 1000;
    public String inception;         // Inception weights (the CLI fills in the download cache's file)

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Limits that keep a typo from allocating the machine away or dividing by zero. */
    static final int MAX_DIFFUSION_STEPS = 100_000;
    static final int MAX_IMAGE_SIZE = 4096;

    /** Checks every value once, before anything is allocated; the message names the flag. */
    public void validate() {
        positive("--global-batch-size", globalBatchSize);
        if (steps < 0) throw new OptionException("--steps must be positive (or absent to use --epochs), got " + steps);
        positive("--epochs", epochs);
        positive("--log-every", logEvery);
        positive("--ckpt-every", ckptEvery);
        positive("--num-workers", numWorkers);
        finitePositive("--lr", lr);
        finiteAtLeast("--weight-decay", weightDecay, 0);
        finiteAtLeast("--grad-clip", gradClip, 0);
        finiteAtLeast("--minutes", minutes, 0);
        if (!(emaDecay >= 0 && emaDecay <= 1)) throw new OptionException("--ema-decay must be in [0, 1], got " + emaDecay);
        if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw new OptionException("--min-lr-ratio must be in [0, 1], got " + minLrRatio);
        if (warmupSteps < 0) throw new OptionException("--warmup-steps must be non-negative, got " + warmupSteps);
        if (diffusionSteps < 1 || diffusionSteps > MAX_DIFFUSION_STEPS) {
            throw new OptionException("--diffusion-steps must be in [1, " + MAX_DIFFUSION_STEPS + "], got " + diffusionSteps);
        }
        if (imageSize < 0 || imageSize > MAX_IMAGE_SIZE) throw new OptionException("--image-size must be in [1, " + MAX_IMAGE_SIZE + "] (or 0: the data's size), got " + imageSize);
        if (channels != 0 && channels != 1 && channels != 3) throw new OptionException("--channels must be 1 or 3 (or 0: the data's), got " + channels);
        if (!lrSchedule.equals("constant") && !lrSchedule.equals("cosine")) throw new OptionException("--lr-schedule must be constant or cosine, got '" + lrSchedule + "'");
        if (!noiseSchedule.equals("linear") && !noiseSchedule.equals("squaredcos_cap_v2")) {
            throw new OptionException("--noise-schedule must be linear or squaredcos_cap_v2, got '" + noiseSchedule + "'");
        }
        if (!objective.equals("diffusion") && !objective.equals("flow")) throw new OptionException("--objective must be diffusion or flow, got '" + objective + "'");
        if (objective.equals("flow")) {
            try {
                transport();
            } catch (IllegalArgumentException e) {
                throw new OptionException("--path/--prediction/--loss-weight: " + e.getMessage());
            }
            try {
                dit4j.flow.TimeSampling.parse(flowTimeSampling);
            } catch (IllegalArgumentException e) {
                throw new OptionException("--t-sampling: " + e.getMessage());
            }
            // a flow run's recorded sampling defaults: Heun on the probability-flow ODE
            if (sampleSampler.equals("ddpm") || sampleSampler.equals("ddim")) {
                sampleSampler = "ode";
                sampleSteps = 50;
            }
        }
        if (!split.equals("train") && !split.equals("test")) throw new OptionException("--split must be train or test, got '" + split + "'");
        try {
            dit4j.runtime.Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--precision: " + e.getMessage());
        }
        dit4j.runtime.Devices.check(device);
        if (dit4j.runtime.Devices.isCuda(device) && evalRef != null) {
            throw new OptionException("--eval-ref/--eval-every: evaluation during training runs on the CPU only in this version; with --device " + device
                    + ", evaluate the checkpoints afterwards (dit sample --num-samples, then dit eval)");
        }
        if (evalEvery < 0) throw new OptionException("--eval-every must be positive (or absent: no evaluation), got " + evalEvery);
        if (evalEvery > 0 && evalRef == null) throw new OptionException("--eval-every needs --eval-ref REF (the reference set or statistics to compute FID against)");
        if (evalRef != null && evalSamples < 2) throw new OptionException("--eval-samples must be at least 2 (a covariance needs two images), got " + evalSamples);
    }

    /** True when the run evaluates FID (every eval_every steps and at the end, or only at the end). */
    public boolean evaluates() {
        return evalRef != null;
    }

    private static void positive(String flag, long v) {
        if (v < 1) throw new OptionException(flag + " must be positive, got " + v);
    }

    private static void finitePositive(String flag, double v) {
        if (!(v > 0) || !Double.isFinite(v)) throw new OptionException(flag + " must be a positive finite number, got " + v);
    }

    private static void finiteAtLeast(String flag, double v, double min) {
        if (!(v >= min) || !Double.isFinite(v)) throw new OptionException(flag + " must be a finite number >= " + min + ", got " + v);
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> toMap() {
        return new LinkedHashMap<>(JSON.convertValue(this, Map.class));
    }

    public static TrainOptions fromMap(Map<String, Object> args) {
        return JSON.convertValue(args, TrainOptions.class);
    }

    /** The Gaussian diffusion these options train with. */
    public dit4j.diffusion.DiffusionConfig diffusion(boolean learnSigma) {
        return dit4j.diffusion.DiffusionConfig.defaults().withSchedule(noiseSchedule, diffusionSteps).withLearnSigma(learnSigma);
    }

    /** The flow-matching transport of --objective flow (SiT's create_transport with its eps rules). */
    public dit4j.flow.Transport transport() {
        return dit4j.flow.Transport.create(dit4j.flow.FlowPath.parse(flowPath), dit4j.flow.Transport.Prediction.parse(flowPrediction),
                dit4j.flow.Transport.LossWeight.parse(flowLossWeight));
    }

    /** The sampling settings this run records (sample_*), at the given guidance scale, seed, batch and precision. */
    public dit4j.sample.Generation.Options sampling(double cfgScale, long seed, int batchSize, dit4j.runtime.Precision precision) {
        return new dit4j.sample.Generation.Options(sampleSampler, Integer.toString(sampleSteps), 0.0, cfgScale,
                dit4j.sample.Generation.Options.parseCfgChannels(sampleCfgChannels), sampleClip, seed, batchSize, precision,
                sampleCfgLo != null ? sampleCfgLo : Double.NEGATIVE_INFINITY, sampleCfgHi != null ? sampleCfgHi : Double.POSITIVE_INFINITY);
    }

    public TrainOptions copy() {
        return fromMap(toMap());
    }
}
