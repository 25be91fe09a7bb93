package dit4j.diffusion;

import dit4j.diffusion.GaussianDiffusion.LossType;
import dit4j.diffusion.GaussianDiffusion.ModelMeanType;
import dit4j.diffusion.GaussianDiffusion.ModelVarType;

/**
 * The arguments of the official {@code create_diffusion}, minus the respacing (which is chosen
 * per use: none for training, e.g. {@code "250"} or {@code "ddim50"} for sampling).
 */
public record DiffusionConfig(
        String noiseSchedule,
        int diffusionSteps,
        boolean learnSigma,
        boolean predictXstart,
        boolean sigmaSmall,
        boolean useKl,
        boolean rescaleLearnedSigmas) {

    /** The official defaults: 1000 linear steps, eps prediction, learned-range variance, MSE + VB. */
    public static DiffusionConfig defaults() {
        return new DiffusionConfig("linear", 1000, true, false, false, false, false);
    }

    public DiffusionConfig withSchedule(String schedule, int steps) {
        return new DiffusionConfig(schedule, steps, learnSigma, predictXstart, sigmaSmall, useKl, rescaleLearnedSigmas);
    }

    public DiffusionConfig withLearnSigma(boolean learn) {
        return new DiffusionConfig(noiseSchedule, diffusionSteps, learn, predictXstart, sigmaSmall, useKl, rescaleLearnedSigmas);
    }

    /** {@code create_diffusion(timestep_respacing, ...)}; an empty respacing keeps every step. */
    public GaussianDiffusion create(String timestepRespacing) {
        double[] betas = BetaSchedule.named(noiseSchedule, diffusionSteps);
        LossType loss = useKl ? LossType.RESCALED_KL : rescaleLearnedSigmas ? LossType.RESCALED_MSE : LossType.MSE;
        ModelVarType var = learnSigma ? ModelVarType.LEARNED_RANGE : sigmaSmall ? ModelVarType.FIXED_SMALL : ModelVarType.FIXED_LARGE;
        ModelMeanType mean = predictXstart ? ModelMeanType.START_X : ModelMeanType.EPSILON;
        return new GaussianDiffusion(betas, Respacing.spaceTimesteps(diffusionSteps, timestepRespacing), mean, var, loss);
    }
}
