package dit4j.diffusion;

import java.util.function.DoubleUnaryOperator;

/** The named noise schedules of the official code, computed in double precision. */
public final class BetaSchedule {
    private BetaSchedule() {}

    public static double[] named(String name, int steps) {
        if (steps < 1) throw new IllegalArgumentException("diffusion steps must be at least 1, got " + steps);
        switch (name) {
            case "linear": {
                // Ho et al.'s schedule, scaled so that any number of steps spans the same noise.
                double scale = 1000.0 / steps;
                return linspace(scale * 0.0001, scale * 0.02, steps);
            }
            case "squaredcos_cap_v2":
                return betasForAlphaBar(steps, t -> Math.pow(Math.cos((t + 0.008) / 1.008 * Math.PI / 2), 2), 0.999);
            default:
                throw new IllegalArgumentException("unknown noise schedule '" + name + "': expected linear or squaredcos_cap_v2");
        }
    }

    /** numpy.linspace(start, stop, n) in float64. */
    static double[] linspace(double start, double stop, int n) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++) out[i] = start + i * step;
        out[n - 1] = stop;
        return out;
    }

    /** Betas that discretise a cumulative alpha-bar function on [0, 1], capped at maxBeta. */
    static double[] betasForAlphaBar(int steps, DoubleUnaryOperator alphaBar, double maxBeta) {
        double[] betas = new double[steps];
        for (int i = 0; i < steps; i++) {
            double t1 = (double) i / steps, t2 = (double) (i + 1) / steps;
            betas[i] = Math.min(1 - alphaBar.applyAsDouble(t2) / alphaBar.applyAsDouble(t1), maxBeta);
        }
        return betas;
    }
}
