package dit4j.eval;

import dit4j.diffusion.DdpmSampler;
import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.diffusion.NoiseSource;
import dit4j.model.DiTConfig;
import dit4j.model.ModelStats;
import dit4j.runtime.Devices;
import dit4j.runtime.Memory;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.TrainStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Throughput of a full training step (sample t, training_losses, backward, AdamW, EMA), of a
 * guided DDPM sampling step (forward_with_cfg on 2B rows and the reverse-step arithmetic), or of
 * the FID Inception network on a batch of 299x299 images as {@code dit eval} runs it, after
 * warm-up, over a fixed time split into repeats; and the machine's matmul peak measured in the
 * same process, for model-FLOPs utilisation.
 */
public final class Benchmark {
    private Benchmark() {}

    /** @param device where the steps compute ({@code --device}; the rank's own in a job) */
    public record Options(DiTConfig config, int batch, String mode, double seconds, Precision precision, int repeats, boolean gradCheckpoint, boolean profile, String device) {
        public Options(DiTConfig config, int batch, String mode, double seconds, Precision precision, int repeats, boolean gradCheckpoint, boolean profile) {
            this(config, batch, mode, seconds, precision, repeats, gradCheckpoint, profile, "cpu");
        }
    }

    /**
     * @param imagesPerSec median over repeats
     * @param achievedGflops model FLOPs (2 x multiply-adds; a training step counts 3 forward passes) per second
     * @param mfu achievedGflops / peakGflops
     * @param phaseMs training only: mean ms per step in each of {@link TrainStep#PHASES}
     * @param profile the pass taken apart (with {@code --profile}), else null
     */
    public record Result(String model, String mode, String dtype, int batch, int steps, double imagesPerSec, double imagesPerSecMin,
                         double imagesPerSecMax, double msPerStep, double achievedGflops, double peakGflops, double mfu,
                         double peakRssMb, double[] repeatImagesPerSec, int intraOpThreads,
                         double[] phaseMs, Profile.Report profile, int worldSize, double allReduceMsPerStep) {}

    public static Result run(Options o, Consumer<String> log) {
        return run(o, dit4j.dist.Job.SINGLE, log);
    }

    /**
     * In a data-parallel job (training only): each rank trains on batch / world images and
     * averages the gradients after backward, as {@code dit train} does; images/s counts the global
     * batch, and every step ends with the ranks agreeing whether the time is up.
     */
    public static Result run(Options o, dit4j.dist.Job job, Consumer<String> log) {
        DiTConfig c = o.config();
        dit4j.runtime.Threads.configureFor(o.precision());
        boolean train = o.mode().equals("train"), inception = o.mode().equals("inception");
        double flopsPerImage = inception ? 2 * INCEPTION_MACS : 2 * ModelStats.macs(c) * (train ? 3 : 2);
        int world = job.worldSize();
        if (world > 1 && !train) throw new dit4j.OptionException("--nproc-per-node: dit bench measures data-parallel training only (--mode train)");
        if (o.batch() % world != 0) throw new dit4j.OptionException("--batch-size " + o.batch() + " (the global batch) must be divisible by the " + world + " workers");
        Device device = Devices.of(o.device());
        if (o.profile() && !device.is_cpu()) throw new dit4j.OptionException("--profile times each operation on the CPU only in this version; leave it out with --device " + o.device());
        long[] phaseNanos = new long[TrainStep.PHASES.length];
        dit4j.dist.DataParallel[] dp = new dit4j.dist.DataParallel[1];
        if (inception && (!device.is_cpu() || o.precision() != Precision.FLOAT32 || o.profile())) {
            throw new dit4j.OptionException("--mode inception times the network as dit eval runs it: float32 on the CPU, without --profile");
        }
        StepFn work = train ? trainStep(o, device, phaseNanos, job, dp) : inception ? inceptionStep(o) : sampleStep(o, device);
        // CUDA kernels run asynchronously: each timed step waits for its own (a no-op on the CPU).
        StepFn step = device.is_cpu() ? work : () -> {
            work.run();
            torch.cuda_synchronize();
        };
        // Warm-up: a few steps and at least a tenth of the time, for the allocator and the JIT.
        long warmEnd = System.nanoTime() + (long) (o.seconds() * 0.1e9);
        int warm = 0;
        while (!agreed(dp[0], warm >= 3 && System.nanoTime() >= warmEnd)) {
            step.run();
            warm++;
        }
        Arrays.fill(phaseNanos, 0);
        long commBefore = dp[0] == null ? 0 : dp[0].gradientNanos(), commStepsBefore = dp[0] == null ? 0 : dp[0].gradientSteps();
        log.accept(String.format("warm-up: %d steps; measuring %.0f s in %d repeats", warm, o.seconds(), o.repeats()));
        double[] ips = new double[o.repeats()];
        int steps = 0;
        double totalSec = 0;
        for (int r = 0; r < o.repeats(); r++) {
            long t0 = System.nanoTime(), end = t0 + (long) (o.seconds() / o.repeats() * 1e9);
            int n = 0;
            do {
                step.run();
                n++;
            } while (!agreed(dp[0], System.nanoTime() >= end));
            double sec = (System.nanoTime() - t0) / 1e9;
            ips[r] = n * (double) o.batch() / sec;
            steps += n;
            totalSec += sec;
        }
        // Peak RSS of the benchmarked work, read before the matmul measurement adds its own buffers.
        double peakRssMb = Memory.peakRssBytes() / 1048576.0;
        log.accept(String.format("measuring the %s matmul peak...", o.precision().label()));
        double peak = matmulPeak(o.precision(), c, o.batch(), device);
        Profile.Report profile = null;
        if (o.profile()) {
            log.accept("profiling the model pass, operation by operation...");
            profile = Profile.run(c, train ? o.batch() : 2 * o.batch(), o.precision(), train);
        }
        int measured = steps;
        double[] phaseMs = train ? Arrays.stream(phaseNanos).mapToDouble(ns -> ns / 1e6 / measured).toArray() : null;
        double[] sorted = ips.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        double achieved = median * flopsPerImage / 1e9;
        double commMs = dp[0] == null ? 0 : (dp[0].gradientNanos() - commBefore) / 1e6 / Math.max(1, dp[0].gradientSteps() - commStepsBefore);
        return new Result(inception ? "InceptionV3 (pytorch-fid)" : c.displayName(), o.mode(), o.precision().label(), o.batch(), steps, median, sorted[0], sorted[sorted.length - 1],
                totalSec / steps * 1000, achieved, peak, achieved / peak, peakRssMb, ips, torch.get_num_threads(), phaseMs, profile, world, commMs);
    }

    /** Whether to stop: this rank's answer alone, or true on every rank once any says so (all ranks then run the same steps). */
    private static boolean agreed(dit4j.dist.DataParallel dp, boolean stop) {
        return dp == null ? stop : dp.anyAcross("agreeing on the end of a benchmark phase", stop)[0];
    }

    @FunctionalInterface
    private interface StepFn {
        void run();
    }

    private static StepFn trainStep(Options o, Device device, long[] phaseNanos, dit4j.dist.Job job, dit4j.dist.DataParallel[] dp) {
        DiTConfig c = o.config();
        TrainOptions to = new TrainOptions();
        TrainState state = TrainState.fresh(c, to, 0, 1, device);
        GaussianDiffusion diffusion = DiffusionConfig.defaults().withLearnSigma(c.learnSigma()).create("");
        TrainStep step = new TrainStep(state, diffusion, o.precision(), 0, o.gradCheckpoint());
        step.recordPhases(phaseNanos);
        dp[0] = job.dataParallel(state.params);
        if (dp[0] != null) step.afterBackward(dp[0]::averageGradients);
        int local = o.batch() / job.worldSize();
        Generator g = torch.createCPUGenerator(1 + job.rank());
        Tensor x = Devices.to(torch.randn(new long[] {local, c.inChannels(), c.inputSize(), c.inputSize()}, new GeneratorOptional(g), new TensorOptions(ScalarType.Float)), device);
        Tensor y = Devices.to(torch.randint(0, c.numClasses(), new long[] {local}, new GeneratorOptional(g), new TensorOptions(ScalarType.Long)), device);
        return () -> step.run(x, y, to.lr, to.emaDecay);
    }

    /** Multiply-adds of one 299x299 image through Inception v3 (torchvision's count, 5.71 G). */
    static final double INCEPTION_MACS = 5.71e9;

    /** The FID network (random weights in the real file's layout: the same compute) on B images in [-1, 1]. */
    private static StepFn inceptionStep(Options o) {
        InceptionV3 net;
        try {
            net = InceptionV3.random(0);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Generator g = torch.createCPUGenerator(1);
        Tensor x = torch.rand(new long[] {o.batch(), 3, 299, 299}, new GeneratorOptional(g), new TensorOptions(ScalarType.Float)).mul(new org.bytedeco.pytorch.Scalar(2)).sub(new org.bytedeco.pytorch.Scalar(1));
        return () -> {
            try (Step s = Step.open(); InferenceMode guard = new InferenceMode()) {
                net.features(x);
            }
        };
    }

    private static StepFn sampleStep(Options o, Device device) {
        DiTConfig c = o.config();
        dit4j.model.DiT model = dit4j.model.DiT.create(c, torch.createCPUGenerator(0)).moveTo(device);
        model.eval();
        GaussianDiffusion diffusion = DiffusionConfig.defaults().withLearnSigma(c.learnSigma()).create("250");
        DdpmSampler sampler = new DdpmSampler(diffusion);
        Generator g = torch.createCPUGenerator(1);
        int b = o.batch();
        Tensor z = torch.randn(new long[] {b, c.inChannels(), c.inputSize(), c.inputSize()}, new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
        Tensor x = Devices.to(dit4j.runtime.TensorMath.cat(0, z, z), device);
        long[] labels = new long[2 * b];
        for (int i = 0; i < b; i++) {
            labels[i] = i % c.numClasses();
            labels[b + i] = c.numClasses();
        }
        Tensor y = Devices.to(Tensors.longs(labels), device);
        long[] ts = new long[2 * b];
        Arrays.fill(ts, 125);
        Tensor t = Devices.to(Tensors.longs(ts), device);
        NoiseSource noise = NoiseSource.of(g);
        return () -> {
            try (Step s = Step.open(); InferenceMode guard = new InferenceMode()) {
                x.copy_(sampler.pSample((xx, tt) -> {
                    try (Precision.Region r = o.precision().autocast(device)) {
                        return model.forwardWithCfg(xx, tt, y, 4.0, 3).to(ScalarType.Float);
                    }
                }, x, t, noise, false));
            }
        };
    }

    /**
     * The best matmul rate of this machine in GFLOP/s, for the dtype, over a square 2048 product and
     * the model's own MLP product (tokens x D times D x 4D): the ceiling MFU is measured against.
     */
    public static double matmulPeak(Precision p, DiTConfig c, int batch) {
        return matmulPeak(p, c, batch, Tensors.CPU);
    }

    /** The same on {@code device} (on CUDA each product is waited for). */
    public static double matmulPeak(Precision p, DiTConfig c, int batch, Device device) {
        ScalarType dt = p == Precision.BFLOAT16 ? ScalarType.BFloat16 : ScalarType.Float;
        List<long[]> shapes = new ArrayList<>();
        shapes.add(new long[] {2048, 2048, 2048});
        shapes.add(new long[] {(long) batch * c.numPatches(), c.hiddenSize(), c.mlpHidden()});
        double best = 0;
        for (long[] s : shapes) {
            Tensor a = Devices.to(torch.randn(new long[] {s[0], s[1]}, new TensorOptions(dt)), device);
            Tensor bm = Devices.to(torch.randn(new long[] {s[1], s[2]}, new TensorOptions(dt)), device);
            for (int i = 0; i < 2; i++) try (Step st = Step.open()) { torch.mm(a, bm); }
            if (!device.is_cpu()) torch.cuda_synchronize();
            long t0 = System.nanoTime();
            int n = 0;
            while (System.nanoTime() - t0 < 1.5e9) {
                try (Step st = Step.open()) { torch.mm(a, bm); }
                if (!device.is_cpu()) torch.cuda_synchronize();
                n++;
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, 2.0 * s[0] * s[1] * s[2] * n / sec / 1e9);
        }
        return best;
    }
}
