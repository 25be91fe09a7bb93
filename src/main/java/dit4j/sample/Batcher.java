package dit4j.sample;

import static dit4j.runtime.TensorMath.cat;

import dit4j.diffusion.DdimSampler;
import dit4j.diffusion.DdpmSampler;
import dit4j.diffusion.Guidance;
import dit4j.diffusion.Denoiser;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.diffusion.NoiseSource;
import dit4j.io.Images;
import dit4j.model.DiT;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import dit4j.vae.AutoencoderKL;
import java.awt.image.BufferedImage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The engine behind {@link dit4j.sample.Generator}: one thread, continuous batching. Requests with
 * the same sampler settings (a {@link Key}) run their denoising steps in one model call, each row
 * at its own timestep, so a request joins the running batch at the next step instead of waiting
 * for it to finish.
 *
 * <p>Noise is drawn per request from its own seeded generator, in the order {@link Generation}
 * draws it for one batch (x_T for the batch, then per step noise shaped like the model input,
 * both guidance halves), so a request alone gives exactly Generation's images and a batched one
 * differs only by the model's floating-point reductions over a larger batch. Samplers other than
 * DDPM and DDIM run alone through Generation itself.
 */
final class Batcher implements AutoCloseable {

    /** Settings that must agree for requests to share a model call. */
    record Key(String sampler, String steps, double eta, double cfgScale, int cfgChannels, boolean clip, Precision precision,
               double cfgLo, double cfgHi, boolean flow) {
        static Key of(Generation.Options o, boolean flow) {
            return new Key(o.sampler(), o.steps(), o.eta(), o.cfgScale(), o.cfgChannels(), o.clipDenoised(), o.precision(), o.cfgLo(), o.cfgHi(), flow);
        }

        /** The official DDPM and DDIM steps; on a flow they are other samplers (Generation's), which run alone. */
        boolean batchable() {
            return !flow && (sampler.equals("ddpm") || sampler.equals("ddim"));
        }

        boolean guided() {
            return cfgScale != 1.0;
        }
    }

    interface Finisher {
        Result finish(Work w, float[] pixels, float[] latents, long[] shape);
    }

    /** One request and, on the engine thread, its denoising state. */
    static final class Work {
        final long[] labels;
        final Generation.Options options;
        final Key key;
        final Generator.Listener listener;
        final Finisher finisher;
        final CompletableFuture<Result> future = new CompletableFuture<>();
        volatile boolean cancelled;
        // Engine-thread state: the generator, the batch (of batchSize) being denoised and its schedule index.
        org.bytedeco.pytorch.Generator gen;
        Tensor img;
        int from, n, index, done, total;
        float[] out;

        Work(long[] labels, Generation.Options options, boolean flow, Generator.Listener listener, Finisher finisher) {
            this.labels = labels;
            this.options = options;
            this.key = Key.of(options, flow);
            this.listener = listener;
            this.finisher = finisher;
        }

        void cancel() {
            cancelled = true;
        }
    }

    private final DiT model;
    private final SampleModel sampleModel;
    private final AutoencoderKL vae;
    private final Generator.Limits limits;
    private final ArrayDeque<Work> queue = new ArrayDeque<>();
    private final List<Work> active = new ArrayList<>();
    private final Map<String, GaussianDiffusion> diffusions = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, GaussianDiffusion> e) {
            return size() > 8;
        }
    };
    private final Thread thread;
    private volatile int activeImages;
    private volatile double lastStepSeconds = 1;
    private volatile int remainingSteps;
    private Precision threadsFor;
    private boolean closed;
    volatile BiConsumer<Integer, Double> observer;
    volatile int decodeTile;

    Batcher(SampleModel model, AutoencoderKL vae, Generator.Limits limits) {
        this.sampleModel = model;
        this.model = model.model();
        this.vae = vae;
        this.limits = limits;
        this.thread = new Thread(this::run, "dit4j-generator");
        thread.setDaemon(true);
        thread.start();
    }

    Work submit(long[] labels, Generation.Options o, Generator.Listener listener, Finisher finisher) {
        // Unknown samplers and bad respacings fail here, on the caller's thread, not in the engine.
        sampleModel.generation().sampler(o);
        Work w = new Work(labels.clone(), o, sampleModel.transport() != null, listener, finisher);
        synchronized (this) {
            if (closed) throw new IllegalStateException("the generator is closed");
            if (queue.size() >= limits.maxQueue()) {
                throw new Generator.QueueFullException(queue.size(), retryAfter());
            }
            queue.add(w);
            notifyAll();
        }
        return w;
    }

    /** Seconds until the running batch has likely finished. */
    private int retryAfter() {
        return Math.max(1, (int) Math.ceil(remainingSteps * lastStepSeconds));
    }

    /** A request cancelled while it waits leaves the queue at once. */
    void cancel(Work w) {
        w.cancel();
        synchronized (this) {
            if (queue.remove(w)) w.future.completeExceptionally(new CancellationException("cancelled"));
        }
    }

    synchronized int queueDepth() {
        return queue.size();
    }

    int activeImages() {
        return activeImages;
    }

    private void run() {
        try {
            while (true) {
                List<Work> admitted;
                synchronized (this) {
                    queue.removeIf(w -> {
                        if (w.cancelled) w.future.completeExceptionally(new CancellationException("cancelled"));
                        return w.cancelled;
                    });
                    while (queue.isEmpty() && active.isEmpty() && !closed) wait();
                    if (closed) break;
                    admitted = admit();
                }
                for (Work w : admitted) {
                    try {
                        if (w.key.batchable()) start(w);
                    } catch (RuntimeException | OutOfMemoryError e) {
                        active.remove(w);
                        fail(w, e);
                    }
                }
                for (Iterator<Work> it = active.iterator(); it.hasNext(); ) {
                    Work w = it.next();
                    if (w.cancelled) {
                        it.remove();
                        fail(w, new CancellationException("cancelled"));
                    }
                }
                activeImages = active.stream().mapToInt(w -> w.n).sum();
                if (active.isEmpty()) continue;
                if (!active.get(0).key.batchable()) {
                    runAlone(active.remove(0));
                    continue;
                }
                try {
                    step();
                } catch (RuntimeException | OutOfMemoryError e) {
                    for (Work w : active) fail(w, e);
                    active.clear();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            for (Work w : queue) w.future.completeExceptionally(new CancellationException("the generator closed"));
            queue.clear();
        }
        for (Work w : active) fail(w, new CancellationException("the generator closed"));
        active.clear();
    }

    /** Queued requests that join the batch, in queue order up to the first that cannot (fair to it). */
    private List<Work> admit() {
        List<Work> out = new ArrayList<>();
        int rows = 0;
        for (Work w : active) rows += w.n;
        Key key = active.isEmpty() ? null : active.get(0).key;
        while (!queue.isEmpty()) {
            Work w = queue.peek();
            int n = Math.min(w.options.batchSize(), w.labels.length);
            boolean empty = active.isEmpty() && out.isEmpty();
            if (!empty && (!w.key.batchable() || !w.key.equals(key) || rows + n > limits.maxBatch())) break;
            queue.poll();
            out.add(w);
            active.add(w);
            rows += n;
            key = w.key;
            if (!w.key.batchable()) break;
        }
        return out;
    }

    private GaussianDiffusion diffusion(String steps) {
        return diffusions.computeIfAbsent(steps, s -> sampleModel.diffusion().create(s));
    }

    private int channels() {
        return model.config.inChannels();
    }

    private int size() {
        return model.config.inputSize();
    }

    /** A request's generator, output and first batch; long-lived tensors are made outside any step. */
    private void start(Work w) {
        GaussianDiffusion d = diffusion(w.options.steps());
        int per = channels() * size() * size();
        int batches = (w.labels.length + w.options.batchSize() - 1) / w.options.batchSize();
        w.total = batches * d.numTimesteps;
        w.out = new float[w.labels.length * per];
        w.gen = torch.createCPUGenerator(w.options.seed());
        startBatch(w, 0, d);
    }

    private void startBatch(Work w, int from, GaussianDiffusion d) {
        int c = channels(), s = size();
        w.from = from;
        w.n = Math.min(w.options.batchSize(), w.labels.length - from);
        w.index = d.numTimesteps - 1;
        if (w.img == null || w.img.size(0) != w.n) {
            if (w.img != null) w.img.close();
            w.img = Tensors.empty(ScalarType.Float, w.n, c, s, s);
        }
        try (Step step = Step.open(); InferenceMode guard = new InferenceMode()) {
            w.img.copy_(torch.randn(new long[] {w.n, c, s, s}, new GeneratorOptional(w.gen), new TensorOptions(ScalarType.Float)));
        }
    }

    /** One denoising step of every active request, in one model call. */
    private void step() {
        long t0 = System.nanoTime();
        Key key = active.get(0).key;
        GaussianDiffusion d = diffusion(key.steps());
        if (key.precision() != threadsFor) {
            dit4j.runtime.Threads.configureFor(key.precision());
            threadsFor = key.precision();
        }
        boolean guided = key.guided();
        int classes = model.config.numClasses(), c = channels();
        int guidedChannels = key.cfgChannels() <= 0 ? c : key.cfgChannels();
        int rows = 0;
        for (Work w : active) rows += w.n;
        long[] ts = new long[rows], ys = new long[rows];
        int off = 0;
        for (Work w : active) {
            for (int i = 0; i < w.n; i++) {
                ts[off + i] = w.index;
                ys[off + i] = w.labels[w.from + i];
            }
            off += w.n;
        }
        List<Work> previewing = new ArrayList<>();
        for (Work w : active) {
            int every = w.listener.previewEvery();
            if (every > 0 && ((w.done + 1) % every == 0 || w.index == 0)) previewing.add(w);
        }
        try (Step step = Step.open(); InferenceMode guard = new InferenceMode()) {
            Tensor[] imgs = new Tensor[active.size()];
            for (int i = 0; i < imgs.length; i++) imgs[i] = active.get(i).img;
            Tensor x = imgs.length == 1 ? imgs[0] : cat(0, imgs);
            Tensor t = Tensors.longs(ts), y = Tensors.longs(ys);
            // Guidance: conditional rows of every request, then their null rows (the model only reads the first half of x).
            Tensor xin = guided ? cat(0, x, x) : x;
            Tensor tin = guided ? cat(0, t, t) : t;
            long[] nulls = new long[rows];
            Arrays.fill(nulls, classes);
            Tensor yin = guided ? cat(0, y, Tensors.longs(nulls)) : y;
            Tensor[] output = new Tensor[1];
            Denoiser denoiser = (xx, tt) -> {
                if (guided && (key.cfgLo() != Double.NEGATIVE_INFINITY || key.cfgHi() != Double.POSITIVE_INFINITY)) {
                    // rows of different requests are at different steps: the interval is per row
                    return output[0] = Guidance.cfg((a, b, labels) -> {
                        try (Precision.Region r = key.precision().autocast()) {
                            return model.forward(a, b, labels).to(ScalarType.Float);
                        }
                    }, yin, key.cfgScale(), guidedChannels, key.cfgLo(), key.cfgHi()).apply(xx, tt);
                }
                try (Precision.Region r = key.precision().autocast()) {
                    Tensor o = guided ? model.forwardWithCfg(xx, tt, yin, key.cfgScale(), guidedChannels) : model.forward(xx, tt, yin);
                    return output[0] = o.to(ScalarType.Float);
                }
            };
            NoiseSource noise = like -> {
                // Each request draws what Generation would draw for it alone: its rows of both halves.
                Tensor[] parts = new Tensor[active.size()];
                for (int i = 0; i < parts.length; i++) {
                    Work w = active.get(i);
                    long[] shape = like.sizes().vec().get();
                    shape[0] = guided ? 2L * w.n : w.n;
                    parts[i] = torch.randn(shape, new GeneratorOptional(w.gen), new TensorOptions(ScalarType.Float)).narrow(0, 0, w.n);
                }
                Tensor cond = parts.length == 1 ? parts[0] : cat(0, parts);
                return guided ? cat(0, cond, cond) : cond;
            };
            Tensor next = key.sampler().equals("ddim")
                    ? new DdimSampler(d, key.eta()).ddimSample(denoiser, xin, tin, noise, key.clip())
                    : new DdpmSampler(d).pSample(denoiser, xin, tin, noise, key.clip());
            off = 0;
            for (Work w : active) {
                w.img.copy_(next.narrow(0, off, w.n));
                off += w.n;
            }
            if (!previewing.isEmpty()) previews(previewing, d, xin, tin, output[0]);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        lastStepSeconds = secs;
        BiConsumer<Integer, Double> obs = observer;
        if (obs != null) obs.accept(rows, secs);
        int remaining = 0;
        for (Work w : active) remaining = Math.max(remaining, w.total - w.done - 1);
        remainingSteps = remaining;
        for (Iterator<Work> it = active.iterator(); it.hasNext(); ) {
            Work w = it.next();
            w.done++;
            w.index--;
            try {
                w.listener.onStep(w.done, w.total);
                if (w.index < 0) {
                    System.arraycopy(Tensors.toFloats(w.img), 0, w.out, w.from * c * size() * size(), w.n * c * size() * size());
                    int next = w.from + w.n;
                    if (next < w.labels.length) {
                        startBatch(w, next, d);
                    } else {
                        it.remove();
                        finish(w);
                    }
                }
            } catch (RuntimeException e) {
                it.remove();
                fail(w, e);
            }
        }
    }

    /** Small pictures of each previewing request's predicted x0 (latents: their first channels). */
    private void previews(List<Work> ws, GaussianDiffusion d, Tensor xin, Tensor tin, Tensor output) {
        int c = channels();
        Tensor x0 = d.predictXstartFromEps(xin, tin, output.narrow(1, 0, c));
        x0 = torch.clamp(x0, new ScalarOptional(new Scalar(-1)), new ScalarOptional(new Scalar(1)));
        int shown = c == 1 ? 1 : 3, s = size();
        int off = 0;
        for (Work w : active) {
            if (ws.contains(w)) {
                float[] all = Tensors.toFloats(x0.narrow(0, off, w.n).narrow(1, 0, shown).contiguous());
                int per = shown * s * s;
                List<BufferedImage> pics = new ArrayList<>();
                for (int i = 0; i < w.n; i++) {
                    pics.add(Images.toImage(Images.toUint8HWC(Arrays.copyOfRange(all, i * per, (i + 1) * per), shown, s, s), shown, s, s));
                }
                try {
                    w.listener.onPreview(w.done + 1, w.total, pics);
                } catch (RuntimeException e) {
                    w.cancel();
                }
            }
            off += w.n;
        }
    }

    /** A sampler the batch loop does not know: Generation alone, cancelled from its progress callback. */
    private void runAlone(Work w) {
        activeImages = w.labels.length;
        try {
            Tensor images = sampleModel.generation().generate(w.labels, w.options, (done, total) -> {
                if (w.cancelled) throw new CancellationException("cancelled");
                w.listener.onStep(done, total);
            });
            w.out = Tensors.toFloats(images);
            images.close();
            finish(w);
        } catch (RuntimeException | OutOfMemoryError e) {
            fail(w, e);
        }
    }

    private void finish(Work w) {
        int c = channels(), s = size();
        float[] latents = null, pixels = w.out;
        long[] shape = {w.labels.length, c, s, s};
        if (vae != null) {
            latents = w.out;
            Tensor z = Tensors.floats(latents, shape);
            Tensor images = Decoding.decode(z, vae, sampleModel.latentScaling(), decodeTile);
            shape = Tensors.shape(images);
            pixels = Tensors.toFloats(images);
            images.close();
            z.close();
        }
        release(w);
        try {
            w.future.complete(w.finisher.finish(w, pixels, latents, shape));
        } catch (RuntimeException e) {
            w.future.completeExceptionally(e);
        }
    }

    private void fail(Work w, Throwable e) {
        release(w);
        w.future.completeExceptionally(e);
    }

    private void release(Work w) {
        if (w.img != null) w.img.close();
        if (w.gen != null) w.gen.close();
        w.img = null;
        w.gen = null;
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
