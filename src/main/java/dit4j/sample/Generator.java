package dit4j.sample;

import dit4j.OptionException;
import dit4j.runtime.Precision;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.VaeFiles;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;

/**
 * The library's front door for generation: a checkpoint (and the VAE of a latent model) loaded
 * once, requests from any thread. Requests run on one engine thread that owns all native work;
 * concurrent requests with the same sampler settings share model calls (continuous batching up
 * to {@code maxBatch} images). A request that runs alone gives exactly the images of
 * {@code dit sample} with the same seed and settings.
 *
 * <pre>{@code
 * try (Generator g = Generator.open(Path.of("ckpt.pt"), null)) {
 *     Generator.Result r = g.generate(new Generator.Request().classes("3").count(4).steps("50").seed(1));
 *     Files.write(Path.of("0.png"), r.png(0));
 * }
 * }</pre>
 */
public final class Generator implements AutoCloseable {

    /** How many images share one model call, and how many requests may wait. */
    public record Limits(int maxBatch, int maxQueue) {
        public static Limits defaults() {
            return new Limits(16, 64);
        }
    }

    /** Told about a request's progress; called on the engine thread, so keep it short. */
    public interface Listener {
        Listener NONE = new Listener() {};

        /** After each denoising step: steps done and the total over all batches. */
        default void onStep(int done, int total) {}

        /** Every {@link #previewEvery()} steps: the predicted x0 of each image, small. */
        default void onPreview(int done, int total, List<BufferedImage> previews) {}

        /** Steps between previews; 0 for none. */
        default int previewEvery() {
            return 0;
        }
    }

    /** The queue is full: try again later. */
    public static final class QueueFullException extends RuntimeException {
        public final int retryAfterSeconds;

        public QueueFullException(int depth, int retryAfterSeconds) {
            super("the queue is full (" + depth + " requests waiting): retry in " + retryAfterSeconds + " s");
            this.retryAfterSeconds = retryAfterSeconds;
        }
    }

    /**
     * What to generate. Every value left unset comes from the checkpoint's recorded sampling
     * defaults (as {@code dit sample} does): classes default to the official ImageNet classes, or
     * one image of each class.
     */
    public static final class Request {
        List<String> classes;
        long[] labels;
        Integer count;
        String sampler;
        String steps;
        Double cfgScale;
        String cfgChannels;
        Double eta;
        Boolean clip;
        Long seed;
        Integer batchSize;
        Precision precision;

        /** Class ids or names; repeated in turn up to {@link #count}. */
        public Request classes(String... c) {
            classes = List.of(c);
            return this;
        }

        public Request classes(List<String> c) {
            classes = List.copyOf(c);
            return this;
        }

        /** Class labels as numbers (overrides {@link #classes}). */
        public Request labels(long... l) {
            labels = l.clone();
            return this;
        }

        public Request count(int n) {
            count = n;
            return this;
        }

        public Request sampler(String s) {
            sampler = s;
            return this;
        }

        /** Respaced steps, e.g. "250", "50" or "ddim50". */
        public Request steps(String s) {
            steps = s;
            return this;
        }

        public Request steps(int n) {
            return steps(Integer.toString(n));
        }

        public Request cfgScale(double s) {
            cfgScale = s;
            return this;
        }

        /** "3" (the official rule) or "all". */
        public Request cfgChannels(String c) {
            cfgChannels = c;
            return this;
        }

        public Request eta(double e) {
            eta = e;
            return this;
        }

        public Request clip(boolean c) {
            clip = c;
            return this;
        }

        public Request seed(long s) {
            seed = s;
            return this;
        }

        public Request batchSize(int n) {
            batchSize = n;
            return this;
        }

        public Request precision(Precision p) {
            precision = p;
            return this;
        }

        /** The sampling options: {@code base} with every value given here applied, validated. */
        public Generation.Options options(Generation.Options base) {
            return new Generation.Options(
                    sampler != null ? sampler : base.sampler(),
                    steps != null ? steps : base.steps(),
                    eta != null ? eta : base.eta(),
                    cfgScale != null ? cfgScale : base.cfgScale(),
                    cfgChannels != null ? Generation.Options.parseCfgChannels(cfgChannels) : base.cfgChannels(),
                    clip != null ? clip : base.clipDenoised(),
                    seed != null ? seed : base.seed(),
                    batchSize != null ? batchSize : base.batchSize(),
                    precision != null ? precision : base.precision(),
                    base.cfgLo(), base.cfgHi()).validate();
        }

        /** The labels of the images, in order. */
        public long[] labels(SampleModel m) {
            if (count != null && count < 1) throw new OptionException("count must be positive, got " + count);
            long[] given = labels != null ? labels.clone() : Labels.parse(classes, m.classNames(), m.numClasses());
            if (count == null || given.length == 0) return given;
            long[] out = new long[count];
            for (int i = 0; i < out.length; i++) out[i] = given[i % given.length];
            return out;
        }
    }

    /** A request in flight. */
    public static final class Job {
        final Batcher.Work work;
        private final Batcher batcher;
    private volatile Precision precision = Precision.FLOAT32;

        Job(Batcher.Work work, Batcher batcher) {
            this.work = work;
            this.batcher = batcher;
        }

        public CompletableFuture<Result> future() {
            return work.future;
        }

        /** Stops the request at its next step; the future fails with CancellationException. */
        public void cancel() {
            batcher.cancel(work);
        }

        public boolean isCancelled() {
            return work.cancelled;
        }

        /** Waits for the images. */
        public Result join() throws InterruptedException {
            try {
                return work.future.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                cancel();
                throw e;
            }
        }
    }

    private final SampleModel model;
    private final Path checkpoint;
    private final boolean owned;
    private final Batcher batcher;
    private volatile Precision precision = Precision.FLOAT32;

    /**
     * @param vae the decoder of a latent model (null for a pixel model)
     * @param checkpoint recorded in the images' parameters
     */
    public Generator(SampleModel model, AutoencoderKL vae, Path checkpoint, Limits limits) {
        this(model, vae, checkpoint, limits, false);
    }

    private Generator(SampleModel model, AutoencoderKL vae, Path checkpoint, Limits limits, boolean owned) {
        if (model.latent() && vae == null) throw new IllegalArgumentException(checkpoint + " is a latent model: pass --vae DIR with its VAE (e.g. `dit download sd-vae-ft-ema`)");
        if (limits.maxBatch() < 1) throw new OptionException("--max-batch must be positive, got " + limits.maxBatch());
        if (limits.maxQueue() < 1) throw new OptionException("--max-queue must be positive, got " + limits.maxQueue());
        this.model = model;
        this.checkpoint = checkpoint;
        this.owned = owned;
        this.batcher = new Batcher(model, vae, limits);
    }

    /** Loads a checkpoint (EMA weights when present) and, for a latent model, its VAE: {@code vae}, else the one its run recorded. */
    public static Generator open(Path checkpoint, Path vae) throws IOException {
        return open(checkpoint, vae, null, Limits.defaults());
    }

    public static Generator open(Path checkpoint, Path vae, Path vaeConfig, Limits limits) throws IOException {
        SampleModel m = SampleModel.load(checkpoint, true, 0);
        Path v = vae != null ? vae : m.recordedVae();
        AutoencoderKL decoder = m.latent() && v != null ? VaeFiles.load(v, vaeConfig) : null;
        return new Generator(m, decoder, checkpoint, limits, true);
    }

    public SampleModel model() {
        return model;
    }

    public Path checkpoint() {
        return checkpoint;
    }

    /** The sampling defaults requests start from: the checkpoint's, at the default precision. */
    public Generation.Options defaults() {
        return model.defaults().withPrecision(precision);
    }

    /** The precision of requests that do not choose one (float32 unless set). */
    public Generator precision(Precision p) {
        precision = p;
        return this;
    }

    /** Queues a request; bad values throw OptionException at once, a full queue QueueFullException. */
    public Job submit(Request r, Listener listener) {
        Generation.Options o = r.options(defaults());
        return submit(r.labels(model), o, listener);
    }

    /** Queues images for {@code labels} with fully resolved options (what {@code dit sample} does). */
    public Job submit(long[] labels, Generation.Options o, Listener listener) {
        o.validate();
        int classes = model.numClasses();
        if (labels.length == 0) throw new OptionException("count must be positive, got 0");
        for (long y : labels) {
            if (y < 0 || y >= classes) throw new OptionException("class " + y + " is outside [0, " + classes + ")");
        }
        if (o.cfgScale() != 1.0 && !model.model().config.hasNullClass()) {
            throw new OptionException("cfg_scale: this model has no null class (trained with class dropout 0), so it cannot use guidance: pass 1");
        }
        return new Job(batcher.submit(labels, o, listener == null ? Listener.NONE : listener, this::result), batcher);
    }

    public Result generate(Request r) throws InterruptedException {
        return submit(r, Listener.NONE).join();
    }

    /** Requests waiting to start. */
    public int queueDepth() {
        return batcher.queueDepth();
    }

    /** Images in the running batch. */
    public int activeImages() {
        return batcher.activeImages();
    }

    /** Decode latents in tiles of this many latent pixels (bounded memory for large images); 0 decodes whole images. */
    public Generator decodeTile(int tile) {
        if (tile < 0) throw new OptionException("--decode-tile must be >= 0, got " + tile);
        batcher.decodeTile = tile;
        return this;
    }

    /** Told after every batched step: images in the batch and seconds it took. */
    public void onBatchStep(BiConsumer<Integer, Double> observer) {
        batcher.observer = observer;
    }

    private Result result(Batcher.Work w, float[] pixels, float[] latents, long[] shape) {
        List<String> names = model.classNames();
        List<String> perImage = new ArrayList<>();
        for (long y : w.labels) perImage.add(names != null ? names.get((int) y) : null);
        return new Result(w.labels, perImage, w.options, new SampleWriter(Path.of("."), checkpoint).parameters(w.options),
                (int) shape[1], (int) shape[2], (int) shape[3], pixels, latents);
    }

    /** Stops the engine (failing what is queued or running) and frees its native memory. */
    @Override
    public void close() {
        batcher.close();
        if (owned) model.model().close();
    }

    /** A helper for callers that want the cause of a failed future. */
    public static boolean isCancellation(Throwable t) {
        while (t != null) {
            if (t instanceof CancellationException) return true;
            t = t.getCause();
        }
        return false;
    }
}
