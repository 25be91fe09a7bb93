package dit4j.flow;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;

import dit4j.diffusion.Denoiser;
import org.bytedeco.pytorch.Tensor;

/**
 * SiT's {@code Transport} ({@code transport/transport.py} with {@code create_transport}): what the
 * model predicts along a {@link FlowPath}, the training loss, and the drift and score the samplers
 * integrate. The model is called as {@code model(x_t, t)} with t in [0, 1] (float, one per sample)
 * and returns C channels (SiT's {@code forward} drops the variance half of a learned-sigma DiT).
 */
public final class Transport {

    /** What the network predicts. */
    public enum Prediction { VELOCITY, SCORE, NOISE;
        public static Prediction parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "velocity" -> VELOCITY;
                case "score" -> SCORE;
                case "noise" -> NOISE;
                default -> throw new IllegalArgumentException("unknown flow prediction '" + s + "': expected velocity, score or noise");
            };
        }
    }

    /** Loss weighting of score and noise models (a velocity model's loss is never weighted: SiT's rule). */
    public enum LossWeight { NONE, VELOCITY, LIKELIHOOD;
        public static LossWeight parse(String s) {
            return switch (s == null ? "none" : s.toLowerCase(java.util.Locale.ROOT)) {
                case "none" -> NONE;
                case "velocity" -> VELOCITY;
                case "likelihood" -> LIKELIHOOD;
                default -> throw new IllegalArgumentException("unknown flow loss weight '" + s + "': expected none, velocity or likelihood");
            };
        }
    }

    public final FlowPath path;
    public final Prediction prediction;
    public final LossWeight lossWeight;
    public final double trainEps;
    public final double sampleEps;

    public Transport(FlowPath path, Prediction prediction, LossWeight lossWeight, double trainEps, double sampleEps) {
        this.path = path;
        this.prediction = prediction;
        this.lossWeight = lossWeight;
        this.trainEps = trainEps;
        this.sampleEps = sampleEps;
    }

    /**
     * {@code create_transport} with train_eps and sample_eps unset: VP gets 1e-5 and 1e-3, Linear
     * and GVP 1e-3 and 1e-3 unless they predict the velocity (then 0 and 0, stable everywhere).
     * (SiT tests {@code train_eps is None} to default sample_eps too; with both unset that is moot.)
     */
    public static Transport create(FlowPath path, Prediction prediction, LossWeight lossWeight) {
        double trainEps, sampleEps;
        if (path == FlowPath.VP) {
            trainEps = 1e-5;
            sampleEps = 1e-3;
        } else if (prediction != Prediction.VELOCITY) {
            trainEps = 1e-3;
            sampleEps = 1e-3;
        } else {
            trainEps = 0;
            sampleEps = 0;
        }
        return new Transport(path, prediction, lossWeight, trainEps, sampleEps);
    }

    /**
     * The transport a training run recorded in its checkpoint args ({@code objective} "flow",
     * {@code flow_path}, {@code flow_prediction}, {@code flow_loss_weight}), or null for a diffusion run.
     */
    public static Transport fromArgs(java.util.Map<String, Object> args) {
        if (args == null || !"flow".equals(args.get("objective"))) return null;
        return create(FlowPath.parse(String.valueOf(args.getOrDefault("flow_path", "Linear"))),
                Prediction.parse(String.valueOf(args.getOrDefault("flow_prediction", "velocity"))),
                LossWeight.parse(String.valueOf(args.getOrDefault("flow_loss_weight", "none"))));
    }

    /** t shaped (N, 1, 1, 1) from (N). */
    static Tensor expand(Tensor t, Tensor x) {
        long[] shape = new long[(int) x.dim()];
        java.util.Arrays.fill(shape, 1);
        shape[0] = t.size(0);
        return t.view(shape);
    }

    /**
     * {@code check_interval}: the time interval [t0, t1] of training (eval false) or sampling. The
     * SDE stops at 1 - last_step_size (when that is not 0) and leaves the rest to its last step.
     */
    public double[] interval(boolean eval, boolean sde, String diffusionForm, double lastStepSize) {
        double t0 = 0, t1 = 1;
        double eps = eval ? sampleEps : trainEps;
        if (path == FlowPath.VP) {
            t1 = !sde || lastStepSize == 0 ? 1 - eps : 1 - lastStepSize;
        } else if (prediction != Prediction.VELOCITY || sde) {
            t0 = ("SBDM".equals(diffusionForm) && sde) || prediction != Prediction.VELOCITY ? eps : 0;
            t1 = !sde || lastStepSize == 0 ? 1 - eps : 1 - lastStepSize;
        }
        return new double[] {t0, t1};
    }

    /**
     * {@code training_losses} with t and x0 given (SiT draws t uniformly in the training interval and
     * x0 standard normal): the per-sample loss.
     *
     * @param x1 data (N, C, H, W)
     * @param t times (N), float
     * @param x0 noise like x1
     */
    public Tensor trainingLosses(Denoiser model, Tensor x1, Tensor t, Tensor x0) {
        Tensor te = expand(t, x1);
        Tensor[] plan = path.plan(te, x0, x1);
        Tensor xt = plan[0], ut = plan[1];
        Tensor out = model.apply(xt, t);
        if (prediction == Prediction.VELOCITY) return meanFlat(square(sub(out, ut)));
        Tensor driftVar = path.drift(xt, te)[1];
        Tensor sigmaT = path.sigma(te);
        Tensor weight = switch (lossWeight) {
            case VELOCITY -> square(div(driftVar, sigmaT));
            case LIKELIHOOD -> div(driftVar, square(sigmaT));
            case NONE -> null;
        };
        Tensor err = prediction == Prediction.NOISE ? square(sub(out, x0)) : square(add(mul(out, sigmaT), x0));
        return meanFlat(weight == null ? err : mul(weight, err));
    }

    static Tensor meanFlat(Tensor x) {
        return x.flatten(1, -1).mean(1);
    }

    /** {@code get_drift}: the probability-flow ODE's velocity at (x, t), t of shape (N). */
    public Tensor drift(Denoiser model, Tensor x, Tensor t) {
        return driftOf(model.apply(x, t), x, t);
    }

    /** The drift from a model output already computed at (x, t). */
    public Tensor driftOf(Tensor out, Tensor x, Tensor t) {
        if (prediction == Prediction.VELOCITY) return out;
        Tensor te = expand(t, x);
        Tensor[] d = path.drift(x, te);
        Tensor score = prediction == Prediction.SCORE ? out : div(out, path.sigma(te).neg()); // model_output / -sigma_t
        return add(d[0].neg(), mul(d[1], score));
    }

    /** {@code get_score}: the score at (x, t). */
    public Tensor score(Denoiser model, Tensor x, Tensor t) {
        return scoreOf(model.apply(x, t), x, t);
    }

    /** The score from a model output already computed at (x, t). */
    public Tensor scoreOf(Tensor out, Tensor x, Tensor t) {
        Tensor te = expand(t, x);
        return switch (prediction) {
            case NOISE -> div(out, path.sigma(te).neg());
            case SCORE -> out;
            case VELOCITY -> path.scoreFromVelocity(out, x, te);
        };
    }
}
