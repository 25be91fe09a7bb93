package dit4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.OptionException;
import dit4j.eval.ChunkedPass;
import dit4j.eval.Evaluator;
import dit4j.eval.Frechet;
import dit4j.eval.ImageSet;
import dit4j.eval.InceptionV3;
import dit4j.io.AtomicFiles;
import dit4j.io.Images;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import dit4j.sample.Decoding;
import dit4j.sample.Generation;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.VaeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * FID and Inception Score during training ({@code --eval-every}): {@code eval_samples} images from
 * the EMA weights with the sampling settings the run records (what {@code dit sample} uses for its
 * checkpoints), compared with reference statistics computed once per process (and cached in the
 * run folder). Work is split into chunks of {@link #CHUNK} images: chunk c is sampled with seed
 * {@code c} (so up to 50 samples are exactly {@code dit sample --seed 0}'s) and, data-parallel,
 * made by rank {@code c % world} (see {@link ChunkedPass}).
 */
public final class TrainEval {
    /** Images per sampling batch and per Inception batch ({@code dit eval}'s default batch). */
    public static final int CHUNK = 50;
    /** The reference statistics cached in the run folder, and what they were computed from. */
    public static final String CACHE = "eval_ref_stats.npz", CACHE_KEY = "eval_ref_stats.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainOptions o;
    private final InceptionV3 net;
    private final Evaluator.Activations ref;
    private final AutoencoderKL vae;
    private final int rank, world;
    private final ChunkedPass.Reduce reduce;

    private TrainEval(TrainOptions o, InceptionV3 net, Evaluator.Activations ref, AutoencoderKL vae, int rank, int world, ChunkedPass.Reduce reduce) {
        this.o = o;
        this.net = net;
        this.ref = ref;
        this.vae = vae;
        this.rank = rank;
        this.world = world;
        this.reduce = reduce;
    }

    /** Before a run folder is made: the reference and the weights exist, and a latent model has its VAE. */
    public static void check(TrainOptions o) throws IOException {
        if (!o.evaluates()) return;
        if (o.inception == null || !Files.isRegularFile(Path.of(o.inception))) {
            throw new OptionException((o.inception == null ? "--inception" : o.inception) + ": no Inception weights; run `dit download inception` or give --inception FILE");
        }
        Path p = Path.of(o.evalRef);
        try (ImageSet set = ImageSet.open(p)) {
            if (set.count() < 2 && set.poolStats() == null) {
                throw new OptionException("--eval-ref " + p + ": needs at least 2 images or mu/sigma statistics, got " + set.count() + " images");
            }
        } catch (OptionException e) {
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            throw new OptionException("--eval-ref " + e.getMessage());
        }
        if (o.latentScaling > 0 && o.vaePath == null) {
            throw new OptionException("--eval-ref: this is a latent model and the run records no VAE to decode its samples (train with --vae)");
        }
    }

    /**
     * Loads the network (and a latent model's VAE) and the reference statistics, from the run's
     * cache when it was computed from the same reference file and weights. Every rank calls it.
     */
    public static TrainEval open(TrainOptions o, RunDir run, int rank, int world, ChunkedPass.Reduce reduce, Consumer<String> say) throws IOException {
        check(o);
        Precision training = Precision.parse(o.precision);
        InceptionV3 net = InceptionV3.load(Path.of(o.inception));
        AutoencoderKL vae = o.latentScaling > 0 ? VaeFiles.load(Path.of(o.vaePath), o.vaeConfigPath == null ? null : Path.of(o.vaeConfigPath)) : null;
        Path ref = Path.of(o.evalRef);
        Path cache = run.root().resolve(CACHE), keyFile = run.root().resolve(CACHE_KEY);
        String key = cacheKey(o);
        Evaluator.Activations stats;
        try (ImageSet set = ImageSet.open(ref)) {
            boolean fromFile = set.poolStats() != null && (set.spatialStats() != null || set.count() == 0);
            boolean cached = !fromFile && Files.isRegularFile(cache) && Files.isRegularFile(keyFile) && Files.readString(keyFile).equals(key);
            if (fromFile) {
                stats = new Evaluator.Activations(set.count(), set.poolStats(), set.spatialStats(), null);
            } else if (cached) {
                try (ImageSet c = ImageSet.open(cache)) {
                    stats = new Evaluator.Activations(set.count(), c.poolStats(), c.spatialStats(), null);
                }
                if (rank == 0) say.accept("eval: reference statistics from " + cache);
            } else {
                if (rank == 0) say.accept("eval: computing the reference statistics of " + ref + " (" + set.count() + " images)");
                long t0 = System.nanoTime();
                stats = inceptionThreads(training, () -> ChunkedPass.run(net, ChunkedPass.of(set, CHUNK), CHUNK, options(), rank, world, reduce, false, ref,
                        Evaluator.Listener.NONE, "reference"));
                if (rank == 0) {
                    // the file's own statistics stand where it has them, as `dit eval` uses them
                    Frechet.Stats fid = set.poolStats() != null ? set.poolStats() : stats.fid();
                    stats = new Evaluator.Activations(set.count(), fid, stats.spatial(), null);
                    Evaluator.saveStats(cache, stats);
                    AtomicFiles.write(keyFile, out -> out.write(key.getBytes(StandardCharsets.UTF_8)));
                    say.accept(String.format("eval: reference statistics in %.1f s, cached in %s", (System.nanoTime() - t0) / 1e9, cache));
                }
            }
        }
        return new TrainEval(o, net, rank == 0 ? stats : null, vae, rank, world, reduce);
    }

    /** The Inception options of these evaluations: dit eval's defaults, no precision/recall. */
    static Evaluator.Options options() {
        Evaluator.Options d = Evaluator.Options.defaults();
        return new Evaluator.Options(CHUNK, d.resize(), d.dims(), false);
    }

    /** The sampling settings of chunk {@code c}: the run's recorded ones, as SampleModel.defaults() reads them, seed c. */
    public static Generation.Options sampling(TrainOptions o, boolean hasNullClass, long c) {
        // Without a null class (class dropout 0) the model cannot be guided: sample it unguided.
        return o.sampling(hasNullClass ? o.sampleCfgScale : 1.0, Generation.Options.official().seed() + c, CHUNK, Precision.FLOAT32);
    }

    /** Class label of sample i: the classes in turn. */
    public static long label(long i, int numClasses) {
        return i % numClasses;
    }

    /**
     * Samples, statistics and metrics at the state's step; every rank calls it. Returns the log
     * record on rank 0 (null on the others).
     */
    public Map<String, Object> evaluate(TrainState s) throws IOException {
        long t0 = System.nanoTime();
        int k = o.evalSamples;
        int classes = s.config.numClasses();
        Generation gen = new Generation(s.ema, o.diffusion(s.config.learnSigma())).flow(dit4j.flow.Transport.fromArgs(o.toMap()));
        ChunkedPass.Chunks chunks = new ChunkedPass.Chunks() {
            @Override
            public long count() {
                return k;
            }

            @Override
            public Tensor chunk(long c, boolean mine) {
                long from = c * CHUNK;
                if (from >= k) return null;
                int n = (int) Math.min(CHUNK, k - from);
                if (!mine) return Tensors.empty(ScalarType.Byte, n, 1, 1, 3);
                long[] ys = new long[n];
                for (int i = 0; i < n; i++) ys[i] = label(from + i, classes);
                Tensor x = gen.generate(ys, sampling(o, s.config.hasNullClass(), c), (d, t) -> {});
                if (vae != null) x = Decoding.decode(x, vae, o.latentScaling, 0);
                inceptionThreadCount(); // sampling set the training's count; the network's results depend on it
                return uint8Rgb(x);
            }
        };
        Precision training = Precision.parse(o.precision);
        Evaluator.Activations a = inceptionThreads(training, () -> ChunkedPass.run(net, chunks, CHUNK, options(), rank, world, reduce, true,
                Path.of("eval samples"), Evaluator.Listener.NONE, "samples"));
        if (rank != 0) return null;
        Evaluator.Result r = Evaluator.compare(net, a, ref, options());
        Generation.Options so = sampling(o, s.config.hasNullClass(), 0);
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("type", "eval");
        rec.put("step", s.step);
        rec.put("fid", r.fid());
        rec.put("sfid", r.sfid());
        rec.put("inception_score", r.inceptionScore());
        rec.put("inception_score_std", r.inceptionScoreStd());
        rec.put("samples", k);
        rec.put("reference", r.reference());
        rec.put("sampler", so.sampler());
        rec.put("sampling_steps", so.steps());
        rec.put("cfg_scale", so.cfgScale());
        rec.put("world_size", world);
        rec.put("seconds", (System.nanoTime() - t0) / 1e9);
        return rec;
    }

    /** Pixels in [-1, 1], [n,C,H,W], to uint8 [n,H,W,3] by the official conversion (gray replicated, as PIL's convert('RGB')). */
    static Tensor uint8Rgb(Tensor x) {
        long[] sh = Tensors.shape(x);
        int n = (int) sh[0], c = (int) sh[1], h = (int) sh[2], w = (int) sh[3];
        if (c != 1 && c != 3) throw new IllegalArgumentException("FID needs 1- or 3-channel images, the model makes " + c);
        float[] all = Tensors.toFloats(x);
        int per = c * h * w;
        byte[] out = new byte[n * h * w * 3];
        for (int i = 0; i < n; i++) {
            byte[] hwc = Images.toUint8HWC(java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per), c, h, w);
            for (int p = 0; p < h * w; p++) {
                for (int ch = 0; ch < 3; ch++) out[(i * h * w + p) * 3 + ch] = hwc[p * c + (c == 1 ? 0 : ch)];
            }
        }
        return Tensors.fromBytes(ScalarType.Byte, new long[] {n, h, w, 3}, out);
    }

    private interface Pass {
        Evaluator.Activations run() throws IOException;
    }

    /** The Inception network runs on oneDNN, which uses libtorch's threads: every core of this process during the pass. */
    private static Evaluator.Activations inceptionThreads(Precision training, Pass pass) throws IOException {
        inceptionThreadCount();
        try {
            return pass.run();
        } finally {
            dit4j.runtime.Threads.configureFor(training);
        }
    }

    /** As `dit eval` sets it: every core of this process, unless DIT_INTRA_OP_THREADS says otherwise. */
    private static void inceptionThreadCount() {
        String env = System.getenv("DIT_INTRA_OP_THREADS");
        if (env == null || env.isBlank()) torch.set_num_threads(dit4j.runtime.Threads.cores());
    }

    /** What the cached statistics were computed from: the reference and the weights (paths, sizes, modification times). */
    static String cacheKey(TrainOptions o) throws IOException {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("eval_ref", describe(Path.of(o.evalRef)));
        k.put("inception", describe(Path.of(o.inception)));
        k.put("resize", options().resize().name().toLowerCase());
        return JSON.writeValueAsString(k);
    }

    private static Map<String, Object> describe(Path p) throws IOException {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("path", p.toAbsolutePath().normalize().toString());
        if (Files.isDirectory(p)) {
            long files = 0, bytes = 0, newest = 0;
            try (Stream<Path> s = Files.list(p)) {
                for (Path f : s.filter(Files::isRegularFile).toList()) {
                    files++;
                    bytes += Files.size(f);
                    newest = Math.max(newest, Files.getLastModifiedTime(f).toMillis());
                }
            }
            d.put("files", files);
            d.put("bytes", bytes);
            d.put("modified_ms", newest);
        } else {
            d.put("bytes", Files.size(p));
            d.put("modified_ms", Files.getLastModifiedTime(p).toMillis());
        }
        return d;
    }

    // ------------------------------------------------------------------ plot

    /** fid.png from the run's eval records: FID over steps; nothing when there are none. */
    public static void drawPlot(RunDir run, Consumer<String> warn) {
        try {
            List<double[]> points = TrainLog.readEval(run.log(), "fid");
            if (points.isEmpty()) return;
            LossPlot.writeMetric(run.fidPlot(), points, "FID (" + pointsSamples(run) + " EMA samples), " + run.root().getFileName(), "FID");
        } catch (Exception e) {
            warn.accept("warning: could not draw " + run.fidPlot() + ": " + e.getMessage());
        }
    }

    private static String pointsSamples(RunDir run) throws IOException {
        List<double[]> k = TrainLog.readEval(run.log(), "samples");
        return k.isEmpty() ? "?" : Long.toString((long) k.get(k.size() - 1)[1]);
    }
}
