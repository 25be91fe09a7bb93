package dit4j.flow;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.AncestralSampler;
import dit4j.diffusion.Denoiser;
import dit4j.diffusion.DpmSolver;
import dit4j.diffusion.NoiseSchedule.SkipType;
import dit4j.diffusion.NoiseSource;
import dit4j.diffusion.Sampler;
import dit4j.flow.Transport.LossWeight;
import dit4j.flow.Transport.Prediction;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DPM-Solver++, DDIM and DDPM on flow paths, end to end, with the exact model of Gaussian data
 * x1 ~ N(mu, v): E[x1 | x_t] and E[x0 | x_t] are linear in x_t, so the velocity, noise and score a
 * perfect network would predict are known. The probability-flow ODE then maps noise z to
 * mu + sqrt(v) z (the only monotone map between the two Gaussians), which the deterministic solvers
 * must reach; DDPM's draws must have the data's mean and spread.
 */
class GaussianDataSamplingTest {
    static final double MU = 0.5, V = 0.25;

    @BeforeAll
    static void natives() {
        dit4j.runtime.Threads.configureDefault();
    }

    /** The perfect model of N(MU, V) data for a transport, fed SiT's t (N) as the samplers feed it. */
    static Denoiser exact(Transport tr) {
        FlowPath p = tr.path;
        return (x, t) -> {
            Tensor te = t.to(ScalarType.Double).view(t.size(0), 1, 1, 1);
            Tensor a = p.alpha(te), s = p.sigma(te);
            Tensor xd = x.to(ScalarType.Double);
            Tensor var = add(mul(V, square(a)), square(s));                  // Var x_t
            Tensor centred = sub(xd, mul(MU, a));
            Tensor x1 = add(div(mul(V, mul(a, centred)), var), MU);           // E[x1 | x_t]
            Tensor x0 = div(mul(s, centred), var);                            // E[x0 | x_t]
            Tensor out = switch (tr.prediction) {
                case VELOCITY -> add(mul(p.dAlpha(te), x1), mul(p.dSigma(te), x0));
                case NOISE -> x0;
                case SCORE -> div(x0, s).neg();
            };
            return out.to(ScalarType.Float);
        };
    }

    private static Tensor noise(long seed) {
        return torch.randn(new long[] {1000, 1, 2, 2}, new GeneratorOptional(torch.createCPUGenerator(seed)), new TensorOptions(ScalarType.Float));
    }

    private static double maxErrorToTheMap(Sampler sampler, Transport tr) {
        Tensor z = noise(1);
        Tensor out = sampler.sample(exact(tr), z, x -> {
            throw new IllegalStateException("a deterministic sampler drew noise");
        }, false, Sampler.Progress.NONE);
        return out.sub(z.mul(new org.bytedeco.pytorch.Scalar(Math.sqrt(V))).add(new org.bytedeco.pytorch.Scalar(MU))).abs().max().item_double();
    }

    /**
     * Every path and parametrisation converges to the flow map (time-uniform grids put large
     * log-SNR steps at the ends of [1e-3, 1 - 1e-3], so noise and score models need more steps),
     * and the demo's Linear velocity model is close at 20 steps.
     */
    @Test
    void dpmSolverReachesTheFlowMapOnEveryPath() {
        for (FlowPath p : FlowPath.values()) {
            for (Prediction q : Prediction.values()) {
                Transport tr = Transport.create(p, q, LossWeight.NONE);
                FlowSchedule ns = new FlowSchedule(tr);
                for (int order : new int[] {2, 3}) {
                    double err = maxErrorToTheMap(new DpmSolver(ns, 80, order, SkipType.TIME_UNIFORM, true), tr);
                    assertTrue(err < 0.05, p + "/" + q + " order " + order + " at 80 steps: " + err);
                }
            }
        }
        Transport linear = Transport.create(FlowPath.LINEAR, Prediction.VELOCITY, LossWeight.NONE);
        double at20 = maxErrorToTheMap(new DpmSolver(new FlowSchedule(linear), 20, 2, SkipType.TIME_UNIFORM, true), linear);
        assertTrue(at20 < 0.03, "Linear velocity, 2M, 20 steps: " + at20);
        // uniform log-SNR steps where both ends are finite
        Transport noise = Transport.create(FlowPath.VP, Prediction.NOISE, LossWeight.NONE);
        double logSnr = maxErrorToTheMap(new DpmSolver(new FlowSchedule(noise), 20, 2, SkipType.LOG_SNR, true), noise);
        assertTrue(logSnr < 0.04, "VP/noise logSNR: " + logSnr);
    }

    @Test
    void ddimIsFirstOrderAndDpmSolverOneIsTheSameStep() {
        Transport tr = Transport.create(FlowPath.LINEAR, Prediction.VELOCITY, LossWeight.NONE);
        FlowSchedule ns = new FlowSchedule(tr);
        double ddim40 = maxErrorToTheMap(new AncestralSampler(ns, 40, 0.0), tr);
        double ddim80 = maxErrorToTheMap(new AncestralSampler(ns, 80, 0.0), tr);
        double dpm1 = maxErrorToTheMap(new DpmSolver(ns, 80, 1, SkipType.TIME_UNIFORM, true), tr);
        double dpm2 = maxErrorToTheMap(new DpmSolver(ns, 80, 2, SkipType.TIME_UNIFORM, true), tr);
        assertTrue(Math.abs(ddim80 / ddim40 - 0.5) < 0.1, "first order: " + ddim40 + " at 40 steps, " + ddim80 + " at 80");
        assertTrue(Math.abs(ddim80 - dpm1) < 1e-5, ddim80 + " vs " + dpm1);
        assertTrue(dpm2 < ddim80 / 5, "second order " + dpm2 + " against first " + ddim80);
    }

    /** DDPM's posterior draws: the spread converges to the data's as the steps shrink (a bias of ~1/steps). */
    @Test
    void ddpmDrawsHaveTheDataMeanAndSpread() {
        for (Transport tr : new Transport[] {Transport.create(FlowPath.LINEAR, Prediction.VELOCITY, LossWeight.NONE),
                Transport.create(FlowPath.VP, Prediction.NOISE, LossWeight.NONE)}) {
            Generator g = torch.createCPUGenerator(5);
            Tensor out = new AncestralSampler(new FlowSchedule(tr), 1000, 1.0).sample(exact(tr), noise(2), NoiseSource.of(g), false, Sampler.Progress.NONE);
            double mean = out.mean().item_double(), std = out.std().item_double();
            assertTrue(Math.abs(mean - MU) < 0.015 && Math.abs(std - Math.sqrt(V)) < 0.015, tr.path + ": mean " + mean + ", std " + std);
        }
    }
}
