package dit4j.diffusion;

import org.bytedeco.pytorch.Tensor;

/**
 * A continuous-time Gaussian schedule x_t = alpha_t x_0 + sigma_t eps, as DPM-Solver steps over it
 * (LuChengTHU/dpm-solver's noise-schedule interface): time runs from T (noise) to the data end, and
 * lambda_t = log(alpha_t / sigma_t) is the half log-SNR. The discrete DDPM schedules
 * ({@link VpSchedule}) and SiT's flow paths ({@code dit4j.flow.FlowSchedule}) both are one.
 */
public interface NoiseSchedule {

    double marginalAlpha(double t);

    double marginalStd(double t);

    /** log alpha_t - log sigma_t: -inf at pure noise, +inf at the data. */
    default double marginalLambda(double t) {
        return Math.log(marginalAlpha(t)) - Math.log(marginalStd(t));
    }

    /** The n + 1 times the solver visits, from noise to data. */
    double[] timeSteps(SkipType skip, int n);

    /** The model's time input at t for a batch of n (float32, as the references feed it). */
    Tensor modelInputTime(double t, long n, boolean float32);

    /** x_0 from the model's prediction at (x, t): the model's own parametrisation decides. */
    Tensor dataPrediction(Tensor prediction, Tensor x, double t);

    /** Whether t is the data end itself (sigma = 0): a multistep step into it can only be first order. */
    default boolean isDataEnd(double t) {
        return false;
    }

    /** Time grids of {@code DPM_Solver.get_time_steps}. */
    enum SkipType {
        TIME_UNIFORM("time_uniform"), LOG_SNR("logSNR"), TIME_QUADRATIC("time_quadratic");

        public final String reference;

        SkipType(String reference) {
            this.reference = reference;
        }

        public static SkipType parse(String s) {
            for (SkipType k : values()) if (k.reference.equalsIgnoreCase(s) || k.name().equalsIgnoreCase(s)) return k;
            throw new IllegalArgumentException("unknown DPM-Solver skip type '" + s + "': expected time_uniform, logSNR or time_quadratic");
        }

        /** time_uniform and time_quadratic grids are float32 tensors in the reference, logSNR's float64. */
        public boolean float32Times() {
            return this != LOG_SNR;
        }
    }
}
