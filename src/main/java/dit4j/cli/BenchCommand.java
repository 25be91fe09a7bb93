package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.eval.Benchmark;
import dit4j.eval.Profile;
import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import dit4j.train.TrainStep;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import dit4j.OptionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit bench}: training or guided-sampling throughput, GFLOP/s and MFU on this machine. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure a full training step (t, training_losses, backward, AdamW, EMA) or a guided DDPM sampling step",
                "(forward_with_cfg on 2B rows) after warm-up, and report images/s (median and spread over repeats), ms/step,",
                "GFLOP/s, model-FLOPs utilisation against the matmul peak measured in the same run, and peak RSS. See docs/performance.md."})
public final class BenchCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    InputSizeOptions size = new InputSizeOptions();

    @Option(names = "--batch-size", description = "Images per step (default ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--batch", hidden = true, description = "Old name of --batch-size.")
    void oldBatch(int b) {
        batch = b;
    }

    @Option(names = "--mode", defaultValue = "train", description = "train, sample, or inception (the FID network as dit eval runs it, 299x299 float32; --batch-size images per pass) (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--seconds", defaultValue = "30", description = "Measured time after warm-up (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--repeats", defaultValue = "5", description = "Repeats the time is split into (default ${DEFAULT-VALUE}).")
    int repeats;

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--grad-checkpoint", description = "Train with gradient checkpointing (memory for compute).")
    boolean gradCheckpoint;

    @Option(names = "--profile", description = {"Also show where the time goes: the training step by phase, and the model pass",
            "taken apart into its operations, each timed alone at the real shapes."})
    boolean profile;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Mixin
    DistOptions dist = new DistOptions();

    @Option(names = "--result-file", hidden = true, description = "Rank 0 also writes the JSON object here (how --nproc-per-node collects its two runs).")
    java.nio.file.Path resultFile;

    @Override
    public Integer call() throws Exception {
        if (!List.of("train", "sample", "inception").contains(mode)) throw new OptionException("--mode must be train, sample or inception, got '" + mode + "'");
        if (batch < 1) throw new OptionException("--batch-size must be positive, got " + batch);
        if (!(seconds > 0) || !Double.isFinite(seconds)) throw new OptionException("--seconds must be a positive number, got " + seconds);
        if (repeats < 1) throw new OptionException("--repeats must be positive, got " + repeats);
        if (dist.launches() && dist.nnodes == 1) return compareWorldSizes();
        if (dist.launches()) return dist.launch(spec.commandLine());
        device.checked();
        DiTConfig c = model.build(size.resolve(), 4, 1000);
        boolean inception = mode.equals("inception");
        int latentSize = inception ? 299 : c.inputSize(), inChannels = inception ? 3 : c.inChannels();
        dit4j.dist.Job job = dist.join(device.device);
        Benchmark.Result r = Benchmark.run(new Benchmark.Options(c, batch, mode, seconds, precision.orElse(Precision.FLOAT32), repeats, gradCheckpoint, profile, job.device(device.device)),
                job, msg -> { if (job.writes()) System.err.println("dit bench: " + msg); });
        job.close();
        if (!job.writes()) return 0;
        if (resultFile != null) dit4j.io.AtomicFiles.write(resultFile, out -> out.write(new ObjectMapper().writeValueAsBytes(json(r, latentSize))));
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(json(r, latentSize)));
        } else {
            System.out.printf("%s %s, batch %d, %s, %dx%dx%d input, %d intra-op thread(s)%s%n", r.model(), r.mode(), r.batch(), r.dtype(),
                    inChannels, latentSize, latentSize, r.intraOpThreads(), r.worldSize() > 1 ? ", " + r.worldSize() + " ranks" : "");
            System.out.printf("images/s     %.3f (median of %d; min %.3f, max %.3f)%n", r.imagesPerSec(), repeats, r.imagesPerSecMin(), r.imagesPerSecMax());
            System.out.printf("ms/step      %.1f over %d steps%n", r.msPerStep(), r.steps());
            if (r.worldSize() > 1) System.out.printf("grad sync    %.1f ms/step (bucket copies + all-reduce, including waiting for the slower rank)%n", r.allReduceMsPerStep());
            System.out.printf("GFLOP/s      %.1f achieved; matmul peak %.1f; MFU %.1f%%%n", r.achievedGflops(), r.peakGflops(), 100 * r.mfu());
            System.out.printf("peak RSS     %.0f MB%n", r.peakRssMb());
            System.out.printf("repeats      %s img/s%n", Arrays.toString(Arrays.stream(r.repeatImagesPerSec()).map(v -> Math.round(v * 1000) / 1000.0).toArray()));
            if (r.phaseMs() != null) {
                System.out.println();
                System.out.println("training step by phase (ms/step)");
                phases(r).forEach((name, ms) -> System.out.printf("  %-16s %8.1f  %5.1f%%%n", name, ms, 100 * ms / r.msPerStep()));
            }
            if (r.profile() != null) printProfile(r.profile(), r.mode().equals("train"));
        }
        return 0;
    }

    /**
     * {@code --nproc-per-node N} on one machine: the same global batch trained by 1 worker with all
     * the cores, then by N workers with cores / N each (both as worker processes, so both get the
     * launcher's JVM and thread settings); prints both and their ratio.
     */
    private Integer compareWorldSizes() throws Exception {
        if (!mode.equals("train")) throw new OptionException("--nproc-per-node: dit bench measures data-parallel training only (--mode train)");
        int n = dist.nprocPerNode;
        if (batch % n != 0) throw new OptionException("--batch-size " + batch + " (the global batch) must be divisible by --nproc-per-node " + n);
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("dit-bench-");
        java.util.Map<Integer, com.fasterxml.jackson.databind.JsonNode> results = new java.util.LinkedHashMap<>();
        int cores = Runtime.getRuntime().availableProcessors();
        for (int world : new int[] {1, n}) {
            java.nio.file.Path f = dir.resolve("world-" + world + ".json");
            System.err.printf("dit bench: %d rank%s x %d thread%s, global batch %d%n", world, world == 1 ? "" : "s", Math.max(1, cores / world), cores / world == 1 ? "" : "s", batch);
            int code = dist.launch(spec.commandLine(), world, java.util.List.of("--result-file", f.toString()));
            if (code != 0) return code;
            results.put(world, new ObjectMapper().readTree(f.toFile()));
        }
        if (json) {
            java.util.Map<String, Object> o = new java.util.LinkedHashMap<>();
            results.forEach((w, r) -> o.put(w + "x" + Math.max(1, cores / w), r));
            System.out.println(new ObjectMapper().writeValueAsString(o));
            return 0;
        }
        System.out.printf("%s training, global batch %d, %s%n", results.get(1).get("model").asText(), batch, results.get(1).get("dtype").asText());
        System.out.printf("  %-22s %10s %16s %10s %18s%n", "configuration", "images/s", "(min - max)", "ms/step", "grad sync ms/step");
        results.forEach((w, r) -> System.out.printf("  %-22s %10.3f %7.3f - %-7.3f %10.1f %18s%n",
                w + " rank" + (w == 1 ? "" : "s") + " x " + Math.max(1, cores / w) + " thread" + (cores / w == 1 ? "" : "s"),
                r.get("images_per_s").asDouble(), r.get("images_per_s_min").asDouble(), r.get("images_per_s_max").asDouble(), r.get("ms_per_step").asDouble(),
                w == 1 ? "-" : String.format("%.1f", r.get("grad_sync_ms_per_step").asDouble())));
        double ratio = results.get(n).get("images_per_s").asDouble() / results.get(1).get("images_per_s").asDouble();
        System.out.printf("  %d ranks reach %.0f%% of 1 rank's images/s%n", n, 100 * ratio);
        return 0;
    }

    private static java.util.Map<String, Object> json(Benchmark.Result r, int latentSize) {
            java.util.Map<String, Object> o = new java.util.LinkedHashMap<>();
            o.put("model", r.model());
            o.put("mode", r.mode());
            o.put("dtype", r.dtype());
            o.put("batch", r.batch());
            o.put("latent_size", latentSize);
            o.put("images_per_s", r.imagesPerSec());
            o.put("images_per_s_min", r.imagesPerSecMin());
            o.put("images_per_s_max", r.imagesPerSecMax());
            o.put("repeats_images_per_s", r.repeatImagesPerSec());
            o.put("ms_per_step", r.msPerStep());
            o.put("steps", r.steps());
            o.put("gflops_achieved", r.achievedGflops());
            o.put("gflops_matmul_peak", r.peakGflops());
            o.put("mfu", r.mfu());
            o.put("peak_rss_mb", r.peakRssMb());
            o.put("intra_op_threads", r.intraOpThreads());
            if (r.phaseMs() != null) o.put("phase_ms", phases(r));
            if (r.profile() != null) {
                java.util.Map<String, Object> p = new java.util.LinkedHashMap<>();
                for (Profile.Part part : r.profile().parts()) p.put(part.name(), java.util.Map.of("per_pass", part.perPass(), "ms_each", part.msEach()));
                p.put("pass_ms", r.profile().passMs());
                o.put("profile", p);
            }
            o.put("world_size", r.worldSize());
            if (r.worldSize() > 1) o.put("grad_sync_ms_per_step", r.allReduceMsPerStep());
            return o;
    }

    private static java.util.Map<String, Double> phases(Benchmark.Result r) {
        java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < TrainStep.PHASES.length; i++) m.put(TrainStep.PHASES[i], r.phaseMs()[i]);
        return m;
    }

    private static void printProfile(Profile.Report p, boolean train) {
        System.out.println();
        System.out.printf("model pass (%s), each operation timed alone at its real shapes%n", train ? "forward + backward" : "forward");
        System.out.printf("  %-40s %6s %10s %10s %6s%n", "operation", "count", "ms each", "ms/pass", "share");
        for (Profile.Part part : p.parts())
            System.out.printf("  %-40s %6d %10.2f %10.1f %5.1f%%%n", part.name(), part.perPass(), part.msEach(), part.msPerPass(), 100 * part.msPerPass() / p.passMs());
        double glue = p.passMs() - p.partsMs();
        System.out.printf("  %-40s %6s %10s %10.1f %5.1f%%%n", "rest (views, copies, scopes, JNI)", "", "", glue, 100 * glue / p.passMs());
        System.out.printf("  %-40s %6s %10s %10.1f%n", "whole pass, timed alone", "", "", p.passMs());
    }
}
