package dit4j.train;

import dit4j.diffusion.GaussianDiffusion;
import dit4j.runtime.Devices;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One optimisation step of the official recipe on a batch: sample t, {@code training_losses},
 * backward, optional gradient clipping, AdamW, EMA update. Used by the trainer and the benchmark.
 */
public final class TrainStep {
    private final TrainState state;
    private final GaussianDiffusion diffusion;
    private final Precision precision;
    private final double gradClip;
    private final boolean gradCheckpoint;
    private long[] phaseNanos;
    private Runnable afterBackward;
    private dit4j.flow.Transport transport;
    private dit4j.flow.TimeSampling timeSampling = dit4j.flow.TimeSampling.UNIFORM;

    public TrainStep(TrainState state, GaussianDiffusion diffusion, Precision precision, double gradClip, boolean gradCheckpoint) {
        this.state = state;
        this.diffusion = diffusion;
        this.precision = precision;
        this.gradClip = gradClip;
        this.gradCheckpoint = gradCheckpoint;
    }

    /** Phases of {@link #run}: forward and loss, backward, clipping and AdamW, EMA. */
    public static final String[] PHASES = {"forward + loss", "backward", "AdamW", "EMA update"};

    /** From now on, adds each step's wall time per phase ({@link #PHASES}) into {@code nanos}: the profiler's view. */
    public void recordPhases(long[] nanos) {
        this.phaseNanos = nanos;
    }

    /**
     * Runs after backward, before clipping and AdamW, on the step's thread: data-parallel training
     * averages the gradients over the ranks here.
     */
    public void afterBackward(Runnable hook) {
        this.afterBackward = hook;
    }

    /**
     * Trains by flow matching (SiT's {@code Transport.training_losses}) instead of the diffusion loss:
     * t uniform in the transport's training interval, x0 standard normal, the model's first C
     * output channels as the prediction.
     */
    public TrainStep flow(dit4j.flow.Transport t) {
        return flow(t, dit4j.flow.TimeSampling.UNIFORM);
    }

    /** Flow matching with the training times drawn as {@code times} says. */
    public TrainStep flow(dit4j.flow.Transport t, dit4j.flow.TimeSampling times) {
        this.transport = t;
        this.timeSampling = times;
        return this;
    }

    /**
     * @param x images or latents (N, C, H, W)
     * @param y labels (N)
     * @return {loss, mse, vb} means over the batch (vb 0 when the variance is fixed)
     */
    public double[] run(Tensor x, Tensor y, double lr, double emaDecay) {
        try (Step s = Step.open()) {
            long n = x.size(0);
            GeneratorOptional g = new GeneratorOptional(state.rng);
            // Every draw is made on the CPU generator and then moved to the device: a CPU generator
            // cannot draw CUDA tensors, and so a seed gives the same run on every device.
            if (transport != null) {
                // SiT's order of draws: x0 = randn_like(x1), then t (uniform: rand(N) * (t1 - t0) + t0)
                Tensor x0 = torch.randn(x.sizes().vec().get(), g, new TensorOptions(ScalarType.Float));
                Tensor t = timeSampling.draw(n, state.rng, transport.interval(false, false, "SBDM", 0.0));
                return run(x, y, t, x0, lr, emaDecay);
            }
            // The official order of random draws: t in the loop, noise inside training_losses, label dropout in the model.
            Tensor t = torch.randint(0, diffusion.numTimesteps, new long[] {n}, g, new TensorOptions(ScalarType.Long));
            Tensor noise = torch.randn(x.sizes().vec().get(), g, new TensorOptions(ScalarType.Float));
            return run(x, y, t, noise, lr, emaDecay);
        }
    }

    /**
     * One step with the given timesteps and noise (label dropout still draws from the state's
     * generator); for a flow objective t are float times and noise is x0. Tensors given on
     * another device (the data loader's CPU batch) are moved to the state's.
     */
    public double[] run(Tensor xIn, Tensor yIn, Tensor tIn, Tensor noiseIn, double lr, double emaDecay) {
        try (Step s = Step.open()) {
            Tensor x = Devices.to(xIn, state.device), y = Devices.to(yIn, state.device);
            Tensor t = Devices.to(tIn, state.device), noise = Devices.to(noiseIn, state.device);
            double[] terms = new double[3];
            CheckpointedForward checkpointed = gradCheckpoint ? new CheckpointedForward(state.model, state.rng, precision) : null;
            java.util.function.Supplier<Tensor> lossFn = () -> {
                if (transport != null) {
                    long c = x.size(1);
                    Tensor l = transport.trainingLosses((xt, tt) -> {
                        Tensor out;
                        if (checkpointed != null) {
                            out = checkpointed.forward(xt, tt, y).to(ScalarType.Float);
                        } else {
                            try (Precision.Region r = precision.autocast(state.device)) {
                                out = state.model.forward(xt, tt, y).to(ScalarType.Float);
                            }
                        }
                        return out.size(1) == c ? out : out.narrow(1, 0, c); // SiT's forward drops the variance half
                    }, x, t, noise);
                    terms[1] = l.mean().item_double();
                    return l.mean();
                }
                GaussianDiffusion.Losses l = diffusion.trainingLosses((xt, tt) -> {
                    if (checkpointed != null) return checkpointed.forward(xt, tt, y).to(ScalarType.Float);
                    try (Precision.Region r = precision.autocast(state.device)) {
                        return state.model.forward(xt, tt, y).to(ScalarType.Float);
                    }
                }, x, t, noise);
                terms[1] = l.mse() == null ? Double.NaN : l.mse().mean().item_double();
                terms[2] = l.vb() == null ? 0 : l.vb().mean().item_double();
                return l.loss().mean();
            };
            // Forward and loss in their own scope: only the loss handle survives it, so the
            // activations autograd does not need are freed now, and the rest as backward consumes
            // them. Checkpointing keeps its few boundary tensors in the step's scope instead.
            long t0 = System.nanoTime();
            Tensor loss = checkpointed != null ? lossFn.get() : Step.nested(lossFn);
            long t1 = System.nanoTime();
            state.opt.zeroGrad();
            loss.backward();
            if (checkpointed != null) checkpointed.backwardThroughBlocks();
            if (afterBackward != null) afterBackward.run();
            long t2 = System.nanoTime();
            if (gradClip > 0) clipGradNorm(gradClip);
            state.opt.lr = lr;
            state.opt.step();
            long t3 = System.nanoTime();
            state.emaUpdater.update(emaDecay);
            if (phaseNanos != null) {
                phaseNanos[0] += t1 - t0;
                phaseNanos[1] += t2 - t1;
                phaseNanos[2] += t3 - t2;
                phaseNanos[3] += System.nanoTime() - t3;
            }
            terms[0] = loss.item_double();
            return terms;
        }
    }

    /** Scales all gradients so that their joint L2 norm is at most maxNorm (torch's clip_grad_norm_). */
    private void clipGradNorm(double maxNorm) {
        try (NoGradGuard guard = new NoGradGuard()) {
            Tensor total = null;
            for (Tensor p : state.params) {
                Tensor g = p.grad();
                if (!g.defined()) continue;
                Tensor sq = g.pow(new Scalar(2)).sum();
                total = total == null ? sq : total.add(sq);
            }
            if (total == null) return;
            double norm = Math.sqrt(total.item_double());
            double coef = Math.min(1.0, maxNorm / (norm + 1e-6));
            if (coef < 1.0) for (Tensor p : state.params) if (p.grad().defined()) p.grad().mul_(new Scalar(coef));
        }
    }
}
