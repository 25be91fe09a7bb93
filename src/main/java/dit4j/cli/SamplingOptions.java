package dit4j.cli;

import dit4j.runtime.Precision;
import dit4j.sample.Generation;
import picocli.CommandLine.Option;

/** How to sample: sampler, steps, guidance, seed, batch. Unset values come from the checkpoint's run or the official sample.py. */
public final class SamplingOptions {
    @Option(names = "--sampler", description = "ddpm, ddim, or DPM-Solver++ dpm++2m, dpm++3m (add -logsnr for log-SNR spaced steps; use e.g. 20 steps); for flow checkpoints also ode (Heun), ode-euler, ode-dopri5 or sde (Euler-Maruyama), and ddpm/ddim/dpm++ run on the flow's Gaussian path (default: the run's, else ddpm; a bare flow state dict: ode-dopri5).")
    String sampler;

    @Option(names = {"--num-sampling-steps", "--steps"}, paramLabel = "N", description = "Sampling steps (respacing), e.g. 250, 50 or ddim50 (default: the run's, else 250).")
    String steps;

    @Option(names = "--cfg-scale", description = "Classifier-free guidance scale; 1 is off (default: the run's, else 4.0).")
    Double cfgScale;

    @Option(names = "--cfg-channels", description = "Channels that get guidance: 3 (the official rule) or all (default: the run's, else 3).")
    String cfgChannels;

    @Option(names = "--cfg-interval", paramLabel = "LO,HI", description = "Guide only at timesteps in [LO, HI] as the model receives them (DDPM/DDIM/DPM-Solver: 0-999, noise high; flow: 0-1, noise at 0), e.g. 0,700 (Kynkaanniemi et al. 2024); elsewhere the conditional prediction, at half the cost (default: the run's, else every step).")
    String cfgInterval;

    @Option(names = "--eta", description = "DDIM noise (default 0: deterministic).")
    Double eta;

    @Option(names = "--clip", negatable = true, description = "Clamp x0 predictions to [-1, 1] (off in the official sampler; on for runs that recorded it, like the demo).")
    Boolean clip;

    @Option(names = "--seed", description = "Seed of all noise (default 0).")
    Long seed;

    @Option(names = {"--batch-size"}, description = "Images per batch (default 64).")
    Integer batchSize;

    @Option(names = "--per-proc-batch-size", hidden = true, description = "The official sample_ddp.py's name of --batch-size.")
    void perProcBatchSize(int n) {
        batchSize = n;
    }

    /** {@code base} with every given flag applied, validated. */
    Generation.Options over(Generation.Options base, Precision precision) {
        double[] interval = cfgInterval != null ? Generation.Options.parseCfgInterval(cfgInterval) : new double[] {base.cfgLo(), base.cfgHi()};
        return new Generation.Options(
                sampler != null ? sampler : base.sampler(),
                steps != null ? steps : base.steps(),
                eta != null ? eta : base.eta(),
                cfgScale != null ? cfgScale : base.cfgScale(),
                cfgChannels != null ? Generation.Options.parseCfgChannels(cfgChannels) : base.cfgChannels(),
                clip != null ? clip : base.clipDenoised(),
                seed != null ? seed : base.seed(),
                batchSize != null ? batchSize : base.batchSize(),
                precision,
                interval[0], interval[1]).validate();
    }
}
