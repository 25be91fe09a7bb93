package dit4j.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything a training run is made of, with the official {@code train.py} defaults. Saved in each
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
    public double latentScaling;     // 0 for pixel-space models

    // model and diffusion
    public String model = "DiT-S/2";
    public Map<String, Object> ditConfig;   // the full DiTConfig as JSON
    public String noiseSchedule = "linear";
    public int diffusionSteps = 1000;

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
    public String device = "cpu";

    // sampling defaults recorded for `dit sample`
    public String sampleSampler = "ddpm";
    public int sampleSteps = 250;
    public double sampleCfgScale = 4.0;
    public String sampleCfgChannels = "3";  // "3" (official) or "all"
    public boolean sampleClip;              // clamp x0 to [-1, 1] (pixel models)

    private static final ObjectMapper JSON = new ObjectMapper();

    @SuppressWarnings("unchecked")
    public Map<String, Object> toMap() {
        return new LinkedHashMap<>(JSON.convertValue(this, Map.class));
    }

    public static TrainOptions fromMap(Map<String, Object> args) {
        return JSON.convertValue(args, TrainOptions.class);
    }

    public TrainOptions copy() {
        return fromMap(toMap());
    }
}
