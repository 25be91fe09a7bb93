package dit4j.eval;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The Inception (FID) groups of the test-vector format: for a group {@code g} with
 * {@code g.images}, the preprocessing and every feature pytorch-fid's network gives; for a group
 * with {@code g.a} and {@code g.b}, means, covariances and the Frechet distance.
 *
 * <p>Tolerances: F32 features {@code |got - want| <= atol * max|want| + rtol * |want|};
 * statistics and the distance to {@code 1e-6} relative ({@code 1e-8} when both covariances
 * have full rank).
 */
public final class InceptionVerify {
    private InceptionVerify() {}

    private static final String[] FEATURES = {"pool3", "pool64", "pool192", "pool768", "logits", "logits_nobias", "softmax_nobias", "mixed6_conv7", "spatial"};

    public static Verify.Report run(InceptionV3 net, Map<String, Tensor> v, double atol, double rtol, Consumer<Verify.Line> onLine) {
        List<Verify.Line> lines = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        TreeSet<String> fid = new TreeSet<>(), fd = new TreeSet<>();
        for (String k : v.keySet()) {
            if (k.endsWith(".images")) fid.add(k.substring(0, k.length() - ".images".length()));
            if (k.endsWith(".a") && v.containsKey(k.substring(0, k.length() - 2) + ".b")) fd.add(k.substring(0, k.length() - 2));
        }
        List<String> groups = new ArrayList<>(fid);
        groups.addAll(fd);
        Consumer<Verify.Line> add = l -> {
            lines.add(l);
            onLine.accept(l);
        };
        for (String g : fid) {
            try (Step s = Step.open(); InferenceMode im = new InferenceMode()) {
                features(net, g, v, atol, rtol, add);
            } catch (RuntimeException e) {
                errors.add("group '" + g + "' could not be computed: " + Verify.oneLine(e));
            }
        }
        for (String g : fd) {
            try (Step s = Step.open()) {
                frechet(g, v, add);
            } catch (RuntimeException e) {
                errors.add("group '" + g + "' could not be computed: " + Verify.oneLine(e));
            }
        }
        if (groups.isEmpty()) errors.add("no Inception group (<g>.images or <g>.a/<g>.b) in the vector file");
        return new Verify.Report(lines, errors, groups);
    }

    private static void features(InceptionV3 net, String g, Map<String, Tensor> v, double atol, double rtol, Consumer<Verify.Line> add) {
        Tensor images = input(v, g + ".images", 4);
        if (images.size(1) != 3) throw new Verify.VectorException("tensor '" + g + ".images' has shape " + Tensors.shapeString(images) + ", expected [N,3,H,W]");
        Tensor x = InceptionV3.preprocess01(images);
        int compared = 0;
        if (v.containsKey(g + ".input299")) {
            add.accept(compare(g + ".input299", v.get(g + ".input299"), x.narrow(0, 0, 1), atol, rtol));
            compared++;
        }
        InceptionV3.Features f = net.features(x);
        Tensor nobias = net.logits(f.pool3(), false);
        for (String name : FEATURES) {
            String key = g + "." + name;
            if (!v.containsKey(key)) continue;
            Tensor got = switch (name) {
                case "pool3" -> f.pool3();
                case "pool64" -> f.pool64();
                case "pool192" -> f.pool192();
                case "pool768" -> f.pool768();
                case "logits" -> net.logits(f.pool3(), true);
                case "logits_nobias" -> nobias;
                case "softmax_nobias" -> torch.softmax(nobias, 1);
                case "mixed6_conv7" -> f.mixed6Conv7();
                case "spatial" -> f.spatial();
                default -> throw new IllegalStateException(name);
            };
            add.accept(compare(key, v.get(key), got, atol, rtol));
            compared++;
        }
        if (compared == 0) throw new Verify.VectorException("group '" + g + "' has images but no expected tensor (" + String.join(", ", FEATURES) + ")");
    }

    private static void frechet(String g, Map<String, Tensor> v, Consumer<Verify.Line> add) {
        Tensor a = input(v, g + ".a", 2), b = input(v, g + ".b", 2);
        Frechet.Stats sa = Frechet.stats(a), sb = Frechet.stats(b);
        boolean fullRank = a.size(0) > a.size(1) && b.size(0) > b.size(1);
        double tol = fullRank ? 1e-8 : 1e-6;
        compareRel(g + ".mu_a", v, sa.mu(), tol, add);
        compareRel(g + ".sigma_a", v, sa.sigma(), tol, add);
        compareRel(g + ".mu_b", v, sb.mu(), tol, add);
        compareRel(g + ".sigma_b", v, sb.sigma(), tol, add);
        Tensor want = v.get(g + ".value");
        if (want == null) throw new Verify.VectorException("missing expected tensor '" + g + ".value'");
        double d = Frechet.distance(sa, sb);
        add.accept(compareRelTensor(g + ".value", want, Tensors.doubles(new double[] {d}, 1), tol));
    }

    private static void compareRel(String key, Map<String, Tensor> v, Tensor got, double tol, Consumer<Verify.Line> add) {
        if (v.containsKey(key)) add.accept(compareRelTensor(key, v.get(key), got, tol));
    }

    /** Relative to the tensor's largest magnitude, in float64. */
    private static Verify.Line compareRelTensor(String key, Tensor want, Tensor got, double tol) {
        if (!Tensors.sameShape(want, got)) {
            throw new Verify.VectorException("'" + key + "': computed shape " + Tensors.shapeString(got) + " but the file has " + Tensors.shapeString(want));
        }
        double[] w = Tensors.toDoubles(want), gv = Tensors.toDoubles(got);
        double scale = 0, maxAbs = 0, maxRel = 0;
        for (double x : w) scale = Math.max(scale, Math.abs(x));
        boolean ok = true;
        for (int i = 0; i < w.length; i++) {
            double diff = Math.abs(gv[i] - w[i]);
            if (!(diff <= tol * Math.max(scale, Double.MIN_NORMAL))) ok = false;
            maxAbs = Math.max(maxAbs, diff);
            if (scale > 0) maxRel = Math.max(maxRel, diff / scale);
        }
        return new Verify.Line(key, Tensors.shape(want), maxAbs, maxRel, ok);
    }

    /** {@code |got - want| <= atol * max|want| + rtol * |want|}. */
    private static Verify.Line compare(String key, Tensor want, Tensor got, double atol, double rtol) {
        if (!Tensors.sameShape(want, got)) {
            throw new Verify.VectorException("'" + key + "': computed shape " + Tensors.shapeString(got) + " but the file has " + Tensors.shapeString(want));
        }
        float[] w = Tensors.toFloats(want), gv = Tensors.toFloats(got);
        double scale = 0;
        for (float x : w) scale = Math.max(scale, Math.abs(x));
        double maxAbs = 0, maxRel = 0;
        boolean ok = true;
        for (int i = 0; i < w.length; i++) {
            double diff = Math.abs((double) gv[i] - w[i]);
            if (!(diff <= atol * scale + rtol * Math.abs(w[i]))) ok = false;
            maxAbs = Math.max(maxAbs, diff);
            if (w[i] != 0) maxRel = Math.max(maxRel, diff / Math.abs(w[i]));
        }
        return new Verify.Line(key, Tensors.shape(want), maxAbs, maxRel, ok);
    }

    private static Tensor input(Map<String, Tensor> v, String key, int dims) {
        Tensor t = v.get(key);
        if (t == null) throw new Verify.VectorException("missing tensor '" + key + "'");
        if (t.dim() != dims) throw new Verify.VectorException("tensor '" + key + "' has shape " + Tensors.shapeString(t) + ", expected " + dims + " dimensions");
        ScalarType d = Tensors.dtype(t);
        if (d != ScalarType.Float && d != ScalarType.Double) throw new Verify.VectorException("tensor '" + key + "' has dtype " + d + ", expected F32 or F64");
        return t;
    }
}
