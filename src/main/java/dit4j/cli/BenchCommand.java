package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.eval.Benchmark;
import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit bench}: training or guided-sampling throughput, GFLOP/s and MFU on this machine. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure a full training step (t, training_losses, backward, AdamW, EMA) or a guided DDPM sampling step",
                "(forward_with_cfg on 2B rows) after warm-up, and report images/s (median and spread over repeats), ms/step,",
                "GFLOP/s, model-FLOPs utilisation against the matmul peak measured in the same run, and peak RSS. See docs/performance.md."})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "DiT-S/2", description = "Model (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--latent-size", defaultValue = "32", description = "Input size, latent (default ${DEFAULT-VALUE}: 256 px images).")
    int latentSize;

    @Option(names = "--in-channels", defaultValue = "4", description = "Input channels (default ${DEFAULT-VALUE}).")
    int inChannels;

    @Option(names = "--batch", defaultValue = "8", description = "Images per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--mode", defaultValue = "train", description = "train or sample (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--seconds", defaultValue = "30", description = "Measured time after warm-up (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--repeats", defaultValue = "5", description = "Repeats the time is split into (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--dtype", defaultValue = "float32", description = "float32 or bfloat16 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--grad-checkpoint", description = "Train with gradient checkpointing (memory for compute).")
    boolean gradCheckpoint;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!mode.equals("train") && !mode.equals("sample")) throw new IllegalArgumentException("--mode must be train or sample, got '" + mode + "'");
        if (batch < 1 || seconds <= 0 || repeats < 1) throw new IllegalArgumentException("--batch, --seconds and --repeats must be positive");
        DiTConfig c = DiTConfig.named(model, latentSize, inChannels, 1000, true, 0.1);
        Benchmark.Result r = Benchmark.run(new Benchmark.Options(c, batch, mode, seconds, Precision.parse(dtype), repeats, gradCheckpoint),
                msg -> System.err.println("dit bench: " + msg));
        if (json) {
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
            System.out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            System.out.printf("%s %s, batch %d, %s, %dx%dx%d input, %d intra-op thread(s)%n", r.model(), r.mode(), r.batch(), r.dtype(),
                    inChannels, latentSize, latentSize, r.intraOpThreads());
            System.out.printf("images/s     %.3f (median of %d; min %.3f, max %.3f)%n", r.imagesPerSec(), repeats, r.imagesPerSecMin(), r.imagesPerSecMax());
            System.out.printf("ms/step      %.1f over %d steps%n", r.msPerStep(), r.steps());
            System.out.printf("GFLOP/s      %.1f achieved; matmul peak %.1f; MFU %.1f%%%n", r.achievedGflops(), r.peakGflops(), 100 * r.mfu());
            System.out.printf("peak RSS     %.0f MB%n", r.peakRssMb());
            System.out.printf("repeats      %s img/s%n", Arrays.toString(Arrays.stream(r.repeatImagesPerSec()).map(v -> Math.round(v * 1000) / 1000.0).toArray()));
        }
        return 0;
    }
}
