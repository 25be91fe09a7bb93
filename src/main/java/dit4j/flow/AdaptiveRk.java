package dit4j.flow;

import static dit4j.flow.FlowSampler.f32;
import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import dit4j.diffusion.Sampler;
import dit4j.runtime.Step;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * torchdiffeq's {@code RKAdaptiveStepsizeODESolver} with its default options, for the explicit
 * tableaux SiT's {@code sample_ode} can name: from t0 to t1, the result interpolated at t1 as its
 * {@code _advance} does. Step control is in float64 as there; the stages run at float32 times (its
 * {@code _runge_kutta_step} casts them to the state's dtype), a stage at the step's end one float
 * below it ({@code Perturb.PREV}); the tableau's coefficients are float32, as its tensors are.
 */
final class AdaptiveRk {
    private AdaptiveRk() {}

    /** A Butcher tableau with its error weights, the interpolation's midpoint weights and the order. */
    record Tableau(int order, double[] alpha, double[][] beta, double[] cSol, double[] cError, double[] mid) {
        /** torchdiffeq's test: the solution is the last stage's input (first same as last), else it is combined anew. */
        boolean lastStageIsSolution() {
            return cSol[cSol.length - 1] == 0 && Arrays.equals(Arrays.copyOf(cSol, cSol.length - 1), beta[beta.length - 1]);
        }
    }

    static final Tableau DOPRI5 = new Tableau(5,
            new double[] {1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1.0, 1.0},
            new double[][] {
                {1 / 5.0},
                {3 / 40.0, 9 / 40.0},
                {44 / 45.0, -56 / 15.0, 32 / 9.0},
                {19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0},
                {9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0},
                {35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0}},
            new double[] {35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0, 0},
            new double[] {35 / 384.0 - 1951 / 21600.0, 0, 500 / 1113.0 - 22642 / 50085.0, 125 / 192.0 - 451 / 720.0,
                -2187 / 6784.0 - -12231 / 42400.0, 11 / 84.0 - 649 / 6300.0, -1.0 / 60.0},
            new double[] {6025192743.0 / 30085553152.0 / 2, 0, 51252292925.0 / 65400821598.0 / 2, -2691868925.0 / 45128329728.0 / 2,
                187940372067.0 / 1594534317056.0 / 2, -1776094331.0 / 19743644256.0 / 2, 11237099.0 / 235043384.0 / 2});

    /** Bogacki-Shampine 3(2). */
    static final Tableau BOSH3 = new Tableau(3,
            new double[] {1 / 2.0, 3 / 4.0, 1.0},
            new double[][] {{1 / 2.0}, {0, 3 / 4.0}, {2 / 9.0, 1 / 3.0, 4 / 9.0}},
            new double[] {2 / 9.0, 1 / 3.0, 4 / 9.0, 0},
            new double[] {2 / 9.0 - 7 / 24.0, 1 / 3.0 - 1 / 4.0, 4 / 9.0 - 1 / 3.0, -1 / 8.0},
            new double[] {0, 0.5, 0, 0});

    /** Fehlberg 2(1). */
    static final Tableau FEHLBERG2 = new Tableau(2,
            new double[] {1 / 2.0, 1.0},
            new double[][] {{1 / 2.0}, {1 / 256.0, 255 / 256.0}},
            new double[] {1 / 512.0, 255 / 256.0, 1 / 512.0},
            new double[] {-1 / 512.0, 0, 1 / 512.0},
            new double[] {0, 0.5, 0});

    /** Heun's method with Euler's as the error estimate. */
    static final Tableau ADAPTIVE_HEUN = new Tableau(2,
            new double[] {1.0},
            new double[][] {{1.0}},
            new double[] {0.5, 0.5},
            new double[] {0.5, -0.5},
            new double[] {0.5, 0});

    /** The adaptive methods by torchdiffeq's names. */
    static final Map<String, Tableau> METHODS = new LinkedHashMap<>();
    static {
        METHODS.put("dopri5", DOPRI5);
        METHODS.put("bosh3", BOSH3);
        METHODS.put("fehlberg2", FEHLBERG2);
        METHODS.put("adaptive_heun", ADAPTIVE_HEUN);
    }

    /** sum_j k_j * (coef_j * dt), coefficients rounded to float32 as the tableau tensors are. */
    private static Tensor combo(Tensor[] k, double[] coef, double dt, int n) {
        Tensor acc = null;
        for (int j = 0; j < n; j++) {
            Tensor term = mul(f32(f32(coef[j]) * dt), k[j]);
            acc = acc == null ? term : add(acc, term);
        }
        return acc;
    }

    private static double rms(Tensor t) {
        return t.to(ScalarType.Double).abs().pow(new Scalar(2)).mean().sqrt().item_double();
    }

    /** y(tEnd) from y(tStart) = y0in under dy/dt = f(t, y), f called at float32 times. */
    static Tensor integrate(Tableau tab, FlowSampler.Func f, Tensor y0in, double tStart, double tEnd, double atol, double rtol, Sampler.Progress progress) {
        int stages = tab.alpha().length;
        Tensor y = y0in.clone();
        Tensor fCur = torch.empty_like(y);
        Tensor[] coeff = new Tensor[5];
        for (int i = 0; i < 5; i++) coeff[i] = torch.empty_like(y);
        double dt;
        try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
            Tensor f0 = f.at(tStart, y);
            fCur.copy_(f0);
            // _select_initial_step with order - 1
            Tensor scale = add(mul(rtol, y.to(ScalarType.Double).abs()), atol);
            double d0 = rms(y.to(ScalarType.Double).div(scale)), d1 = rms(f0.to(ScalarType.Double).div(scale));
            double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
            Tensor y1 = add(y, mul(h0, f0));
            Tensor f1 = f.at(tStart + h0, y1);
            double d2 = Math.abs(rms(f1.sub(f0).to(ScalarType.Double).div(scale)) / h0);
            double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1.0 / tab.order());
            dt = Math.min(100 * h0, h1);
        }
        double t0 = tStart, t1 = tStart;
        int steps = 0;
        while (tEnd > t1) {
            if (steps++ > 100_000) throw new IllegalStateException("adaptive ODE solver: too many steps");
            double tNext = t0 = t1;
            double stepDt = dt;
            double tEndStep = t0 + stepDt;
            if (!(tEndStep > t0)) throw new IllegalStateException("adaptive ODE solver: underflow in dt " + stepDt);
            double errorRatio;
            boolean accept;
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                double t0f = f32(t0), dtf = f32(stepDt), t1f = f32(tEndStep);
                Tensor[] k = new Tensor[stages + 1];
                k[0] = fCur;
                Tensor yi = null;
                for (int i = 0; i < stages; i++) {
                    double ti = tab.alpha()[i] == 1.0 ? Math.nextDown((float) t1f) : f32(t0f + f32(f32(tab.alpha()[i]) * dtf));
                    yi = add(y, combo(k, tab.beta()[i], dtf, i + 1));
                    k[i + 1] = f.at(ti, yi);
                }
                Tensor y1 = tab.lastStageIsSolution() ? yi : add(y, combo(k, tab.cSol(), dtf, stages + 1));
                Tensor err = combo(k, tab.cError(), dtf, stages + 1);
                Tensor tol = add(mul(rtol, torch.max(y.to(ScalarType.Double).abs(), y1.to(ScalarType.Double).abs())), atol);
                errorRatio = rms(err.to(ScalarType.Double).div(tol));
                accept = errorRatio <= 1;
                if (accept) {
                    // _interp_fit: 4th-order polynomial through y0, y_mid, y1 with f0 and the last stage as f1
                    Tensor yMid = add(y, combo(k, tab.mid(), dtf, stages + 1));
                    Tensor fa = k[0], fb = k[stages];
                    Tensor a = add(sub(mul(f32(2 * dtf), fb.sub(fa)), mul(8.0, add(y1, y))), mul(16.0, yMid));
                    Tensor b = sub(add(add(mul(dtf, sub(mul(5.0, fa), mul(3.0, fb))), mul(18.0, y)), mul(14.0, y1)), mul(32.0, yMid));
                    Tensor c = add(sub(sub(mul(dtf, sub(fb, mul(4.0, fa))), mul(11.0, y)), mul(5.0, y1)), mul(16.0, yMid));
                    Tensor d = mul(dtf, fa);
                    coeff[0].copy_(y);
                    coeff[1].copy_(d);
                    coeff[2].copy_(c);
                    coeff[3].copy_(b);
                    coeff[4].copy_(a);
                    y.copy_(y1);
                    fCur.copy_(fb);
                    tNext = tEndStep;
                }
            }
            // _optimal_step_size: safety 0.9, ifactor 10, dfactor 0.2 (1 when the step is accepted)
            double factor;
            if (errorRatio == 0) factor = 10;
            else factor = Math.min(10, Math.max(0.9 / Math.pow(errorRatio, 1.0 / tab.order()), errorRatio < 1 ? 1.0 : 0.2));
            dt = stepDt * factor;
            t1 = tNext;
            if (!accept) t0 = tNext;
            progress.onStep(Math.min(steps, 1000), 1000);
        }
        // _interp_evaluate at tEnd in the last accepted step [t0, t1]
        try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
            double x = f32((tEnd - t0) / (t1 - t0));
            double xp = x;
            Tensor total = add(coeff[0], mul(x, coeff[1]));
            for (int i = 2; i < 5; i++) {
                xp = f32(xp * x);
                total = add(total, mul(xp, coeff[i]));
            }
            y.copy_(total);
        }
        return y;
    }
}
