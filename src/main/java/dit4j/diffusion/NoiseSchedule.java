package dit4j.diffusion;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

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

    /** The time the solvers start at, T (noise). */
    double timeStart();

    /** The time they end at, t_0 (data, or as near it as the schedule goes). */
    double timeEnd();

    /** The time of a half log-SNR lambda. */
    double inverseLambda(double lambda);

    /**
     * The n + 1 times from T to t_0 of the reference's {@code get_time_steps}: time_uniform and
     * time_quadratic grids are float32 tensors there, logSNR's lambdas a float32 linspace between
     * the lambdas at float32 T and t_0 ({@code torch.tensor(t)}), mapped back by the schedule.
     */
    default double[] timeSteps(SkipType skip, int n) {
        double tT = timeStart(), t0 = timeEnd();
        switch (skip) {
            case TIME_UNIFORM:
                return linspace32(tT, t0, n + 1);
            case TIME_QUADRATIC: {
                double[] r = linspace32(Math.sqrt(tT), Math.sqrt(t0), n + 1);
                for (int i = 0; i < r.length; i++) r[i] = (float) ((float) r[i] * (float) r[i]);
                return r;
            }
            case LOG_SNR: {
                double lambdaT = marginalLambda((float) tT), lambda0 = marginalLambda((float) t0);
                if (!Double.isFinite(lambdaT) || !Double.isFinite(lambda0)) {
                    throw new IllegalArgumentException("log-SNR spaced steps need a finite log-SNR at both ends, but this model's sampling interval "
                            + "reaches pure noise or the data: use time-uniform steps (dpm++2m, dpm++3m)");
                }
                double[] lambdas = linspace32(lambdaT, lambda0, n + 1);
                double[] out = new double[n + 1];
                for (int i = 0; i <= n; i++) out[i] = inverseLambda(lambdas[i]);
                return out;
            }
            default:
                throw new IllegalStateException(skip.toString());
        }
    }

    /** {@code torch.linspace(start, end, n)} in float32 (the reference's default dtype), as doubles. */
    static double[] linspace32(double start, double end, int n) {
        Tensor t = torch.linspace(new Scalar(start), new Scalar(end), n, Tensors.options(ScalarType.Float));
        return Tensors.toDoubles(t.to(ScalarType.Double));
    }

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
