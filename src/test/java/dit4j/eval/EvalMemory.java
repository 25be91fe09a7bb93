package dit4j.eval;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The memory of {@code dit eval} on N vs N images when N images through InceptionV3 take too long
 * to run: the two Inception passes run for real on two small batches (a pass holds one batch at a
 * time, so its memory does not grow with the number of images), while each set's per-image pool
 * features are N rows, resident from before its pass (its real features tiled, plus a little noise
 * so no two rows coincide), and FID, sFID, IS and precision/recall then run on the N x N sets as
 * {@code dit eval} runs them. Prints the peak resident set (VmHWM) after each phase.
 * Usage (docs/evaluation.md): {@code java ... dit4j.eval.EvalMemory WEIGHTS A.npz B.npz N}.
 */
public final class EvalMemory {
    public static void main(String[] args) throws Exception {
        Path weights = Path.of(args[0]), a = Path.of(args[1]), b = Path.of(args[2]);
        int n = Integer.parseInt(args[3]);
        dit4j.runtime.Threads.configureDefault();
        torch.set_num_threads(Runtime.getRuntime().availableProcessors());
        Evaluator.Options o = Evaluator.Options.defaults();
        InceptionV3 net = InceptionV3.load(weights);
        report("loaded");
        Tensor poolA = Tensors.empty(ScalarType.Float, n, 2048), poolB = Tensors.empty(ScalarType.Float, n, 2048);
        Generator gen = torch.createCPUGenerator(1);
        Evaluator.Activations sa;
        try (ImageSet set = ImageSet.open(a)) {
            Evaluator.Activations real = Evaluator.activations(net, set, o, "samples", Evaluator.Listener.NONE);
            report("pass A (" + real.count() + " images)");
            sa = tiled(real, poolA, gen);
        }
        poolB.copy_(poolA); // resident before the second pass, as the real run's second set fills it
        report("features of A tiled to " + n);
        Evaluator.Activations sb;
        try (ImageSet set = ImageSet.open(b)) {
            Evaluator.Activations real = Evaluator.activations(net, set, o, "reference", Evaluator.Listener.NONE);
            report("pass B (" + real.count() + " images)");
            sb = tiled(real, poolB, gen);
        }
        report("features of B tiled to " + n);
        long t0 = System.nanoTime();
        Evaluator.Result r = Evaluator.compare(net, sa, sb, o);
        report(String.format("metrics on %d vs %d in %.1f s", n, n, (System.nanoTime() - t0) / 1e9));
        System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r.toMap()));
    }

    /** N rows from a set's real features (row i = feature i mod count, plus noise of 1% of their spread), their FID statistics streamed as dit eval streams them. */
    private static Evaluator.Activations tiled(Evaluator.Activations real, Tensor out, Generator gen) {
        long n = out.size(0), m = real.count();
        Evaluator.Moments fid = new Evaluator.Moments(2048);
        double spread;
        try (Step s = Step.open()) {
            spread = real.pool3().std().item_double();
        }
        for (long i = 0; i < n; i += 50) {
            long b = Math.min(50, n - i), i0 = i;
            try (Step s = Step.open()) {
                Tensor idx = torch.arange(new Scalar(i0), new Scalar(i0 + b)).remainder(new Scalar(m));
                Tensor rows = real.pool3().index_select(0, idx)
                        .add(torch.randn(new long[] {b, 2048}, new GeneratorOptional(gen), Tensors.options(ScalarType.Float)).mul(new Scalar(0.01 * spread)));
                out.narrow(0, i0, b).copy_(rows);
                fid.add(rows);
            }
        }
        return new Evaluator.Activations(n, fid.stats(Path.of("tiled")), real.spatial(), out);
    }

    private static void report(String phase) throws Exception {
        long hwm = 0, rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) hwm = Long.parseLong(line.replaceAll("\\D", ""));
            if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", ""));
        }
        System.err.printf("%-40s VmRSS %,d kB, VmHWM %,d kB%n", phase, rss, hwm);
    }
}
