package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.eval.Evaluator;
import dit4j.eval.ImageSet;
import dit4j.eval.InceptionV3;
import dit4j.io.CheckpointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code dit eval}: FID, sFID, Inception Score, precision and recall of samples against a reference. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Compare a sample set with a reference set: FID, sFID, Inception Score, precision and recall (the ADM evaluator's",
                "metrics, with pytorch-fid's Inception network). Each set is an .npz batch (arr_0 uint8 NHWC, as `dit sample` writes),",
                "a folder of images, or (reference only) a statistics .npz (mu, sigma)."})
public final class EvalCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SAMPLES", description = "The samples: an .npz batch or an image folder.")
    Path samples;

    @Parameters(index = "1", paramLabel = "REF", description = "The reference: an .npz batch (mu/sigma/mu_s/sigma_s used when present), an image folder or a statistics .npz.")
    Path ref;

    @Option(names = "--inception", description = "Inception weights (pytorch-fid's pt_inception-2015-12-05-6726825d.pth; default: the cache file of `dit download inception`).")
    Path inception;

    @Option(names = "--batch-size", defaultValue = "50", description = "Images per Inception batch (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--resize", defaultValue = "pytorch", description = "Resizing to 299x299: pytorch (pytorch-fid's bilinear, default) or tf1 (the ADM evaluator's TensorFlow 1 bilinear).")
    String resize;

    @Option(names = "--dims", defaultValue = "2048", description = "FID features as pytorch-fid's --dims: 2048 (default), 768, 192 or 64.")
    int dims;

    @Option(names = "--no-pr", description = "Skip precision/recall (they keep every image's 2048 features and compare all pairs).")
    boolean noPr;

    @Option(names = "--save-stats", paramLabel = "OUT.npz", description = "Also write the samples' statistics (mu, sigma, mu_s, sigma_s; float64).")
    Path saveStats;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        InceptionV3.Resize r = switch (resize.toLowerCase()) {
            case "pytorch" -> InceptionV3.Resize.PYTORCH;
            case "tf1" -> InceptionV3.Resize.TF1;
            default -> throw new IllegalArgumentException("--resize must be pytorch or tf1, got '" + resize + "'");
        };
        Evaluator.Options o = new Evaluator.Options(batchSize, r, dims, !noPr);
        Path weights = inception != null ? inception : defaultInception();
        if (!Files.isRegularFile(weights)) {
            throw new CheckpointException(weights + ": no Inception weights; run `dit download inception` or give --inception FILE");
        }
        dit4j.runtime.Threads.configureDefault();
        String env = System.getenv("DIT_INTRA_OP_THREADS");
        // Convolutions run on oneDNN, which uses libtorch's threads (not OpenBLAS's): give it every core.
        if (env == null || env.isBlank()) org.bytedeco.pytorch.global.torch.set_num_threads(Runtime.getRuntime().availableProcessors());
        InceptionV3 net = InceptionV3.load(weights);
        try (ImageSet a = ImageSet.open(samples); ImageSet b = ImageSet.open(ref); Bars bars = new Bars()) {
            if (!a.hasImages()) {
                throw new IllegalArgumentException(samples + ": holds statistics only (mu/sigma, no arr_0 images); SAMPLES must be images (an .npz batch or a folder)");
            }
            Evaluator.Activations sa = Evaluator.activations(net, a, o, "samples", bars);
            Evaluator.Activations sb = Evaluator.activations(net, b, o, "reference", bars);
            bars.close();
            if (saveStats != null) Evaluator.saveStats(saveStats, sa);
            print(Evaluator.compare(net, sa, sb, o));
        }
        return 0;
    }

    /** Where `dit download inception` puts the weights: the default of every --inception. */
    static Path defaultInception() {
        return DownloadCommand.defaultCache().resolve("inception").resolve(dit4j.io.Catalog.INCEPTION_FILE);
    }

    private void print(Evaluator.Result r) throws Exception {
        Map<String, Object> m = r.toMap();
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(m));
            return;
        }
        for (Map.Entry<String, Object> e : m.entrySet()) {
            Object v = e.getValue();
            String text = v == null ? "-" : v instanceof Double d ? String.format("%.6g", d) : v.toString();
            System.out.printf("%-20s %s%n", e.getKey(), text);
        }
    }

    /** One progress bar per set. */
    private static final class Bars implements Evaluator.Listener, AutoCloseable {
        private Progress bar;
        private String current;

        @Override
        public void progress(String set, long done, long total) {
            if (!set.equals(current)) {
                close();
                bar = new Progress(set, total);
                current = set;
            }
            bar.stepTo(done, null);
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
            bar = null;
        }
    }
}
