package dit4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dit4j.diffusion.NoiseSchedule.SkipType;
import org.junit.jupiter.api.Test;

/**
 * Time grids of LuChengTHU/dpm-solver's {@code get_time_steps(skip_type, 1, 1/N, 7)} over
 * {@code NoiseScheduleVP('discrete', betas, dtype=torch.float64)}, printed by the reference under
 * torch 1.13 (see scripts/make_sampler_vectors.py for the setup).
 */
class VpScheduleTest {
    static final double[] LINEAR_LOGSNR = {0.99999997189201217, 0.85249811480725834, 0.67395595848912926, 0.44098451439751885,
            0.17840131413624194, 0.045487338547280848, 0.0088588363275050892, 0.0010000550393766152};
    static final double[] LINEAR_UNIFORM = {1, 0.85728573799133301, 0.71457141637802124, 0.57185709476470947, 0.42914286255836487,
            0.28642857074737549, 0.1437142938375473, 0.0010000000474974513};
    static final double[] COSINE_LOGSNR = {1.0000000014891903, 0.98695896378321057, 0.93184367291637504, 0.71681012469907757,
            0.28695601115666891, 0.066772352098290397, 0.011292426825875172, 0.0010031562433891886};
    static final double[] COSINE_UNIFORM = {1, 0.85728627443313599, 0.71457254886627197, 0.57185888290405273, 0.42914515733718872,
            0.28643143177032471, 0.14371772110462189, 0.0010040160268545151};

    private static void check(double[] want, double[] got, double tol) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol, "time step " + i);
    }

    @Test
    void linearScheduleGrids() {
        VpSchedule ns = new VpSchedule(BetaSchedule.named("linear", 1000));
        assertEquals(1000, ns.totalN);
        check(LINEAR_UNIFORM, ns.timeSteps(SkipType.TIME_UNIFORM, 7), 0);
        check(LINEAR_LOGSNR, ns.timeSteps(SkipType.LOG_SNR, 7), 1e-7);
    }

    /** The cosine schedule's table is cut where lambda < -5.1, which shortens N to 996. */
    @Test
    void cosineScheduleIsCutAndItsGridsFollow() {
        VpSchedule ns = new VpSchedule(BetaSchedule.named("squaredcos_cap_v2", 1000));
        assertEquals(996, ns.totalN);
        check(COSINE_UNIFORM, ns.timeSteps(SkipType.TIME_UNIFORM, 7), 0);
        check(COSINE_LOGSNR, ns.timeSteps(SkipType.LOG_SNR, 7), 1e-7);
    }
}
