package dit4j.sample;

import static dit4j.runtime.TensorMath.cat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.diffusion.NoiseSource;
import dit4j.diffusion.Sampler;
import dit4j.io.Images;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import dit4j.vae.AutoencoderKL;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Many images over many workers, as the official sample_ddp.py is used for FID: image i (of
 * {@code labels.length}) goes to rank {@code i % world}, draws all its noise from
 * {@link IndexedNoise} and is written as {@code out/{i:06d}.png} (atomically) when its batch is done.
 * An index whose PNG already exists (made with the same settings) is skipped, so a rerun after
 * a crash or kill computes only the missing images. The images do not depend on the world size
 * nor on which images share a batch: every batch is padded to {@code --batch-size} rows, a row's
 * result does not depend on the other rows of a batch of that size (RowIndependenceTest), and its
 * noise is its own. Another {@code --batch-size} may change the last bits of the floats.
 */
public final class ShardedSampling {
    /** What one rank did: its images, how many it computed now and how many it found written. */
    public record Counts(int owned, int computed, int skipped) {}

    private final SampleModel model;
    private final AutoencoderKL vae;
    private final Path out;
    private final Generation.Options options;
    private final long[] labels;
    private final Map<String, Object> parameters;
    private int decodeTile;

    /**
     * @param labels image i's class; their count is the number of images
     * @param vae the decoder of a latent model, else null
     */
    public ShardedSampling(SampleModel model, AutoencoderKL vae, Path checkpoint, Path out, Generation.Options options, long[] labels) {
        if (model.latent() && vae == null) throw new IllegalArgumentException(checkpoint + " is a latent model: pass --vae DIR with its VAE (e.g. `dit download sd-vae-ft-ema`)");
        for (long y : labels) {
            if (y < 0 || y >= model.numClasses()) throw new dit4j.OptionException("class " + y + " is outside [0, " + model.numClasses() + ")");
        }
        if (options.cfgScale() != 1.0 && !model.model().config.hasNullClass()) {
            throw new dit4j.OptionException("this model has no null class (trained with class dropout 0), so it cannot use guidance: pass --cfg-scale 1");
        }
        this.model = model;
        this.vae = vae;
        this.out = out;
        this.options = options.validate();
        this.labels = labels.clone();
        // Recorded in every PNG and compared on a rerun. Not the batch size, which changes nothing.
        Map<String, Object> p = new LinkedHashMap<>(new SampleWriter(out, checkpoint).parameters(options));
        p.remove("batch_size");
        p.put("eta", options.eta());
        p.put("clip", options.clipDenoised());
        p.put("precision", options.precision().label());
        p.put("noise", "per-image (seed, index)");
        this.parameters = p;
    }

    /**
     * Computes on this device: the model (and VAE) are moved there, and each batch's x_T, labels
     * and per-step noise (drawn on the CPU from the image's generator, then moved: the same noise
     * on every device). {@code cpu} changes nothing. CUDA was never run here.
     */
    public ShardedSampling device(String name) {
        if (name.equals("cpu")) return this;
        device = dit4j.runtime.Devices.of(name);
        model.model().moveTo(device);
        if (vae != null) vae.to(device, false);
        return this;
    }

    private org.bytedeco.pytorch.Device device;

    public ShardedSampling decodeTile(int tile) {
        decodeTile = tile;
        return this;
    }

    public static Path png(Path out, int index) {
        return out.resolve(String.format("%06d.png", index));
    }

    /** Rows per model call: dopri5 picks its step sizes from the whole batch's error, so it runs one image at a time. */
    int rowsPerBatch() {
        return options.sampler().equals("ode-dopri5") ? 1 : options.batchSize();
    }

    /** Rank {@code rank}'s missing images, computed in batches; {@code progress} counts their denoising steps. */
    public Counts run(int rank, int world, Sampler.Progress progress) throws IOException {
        Files.createDirectories(out);
        String paramsJson = new ObjectMapper().writeValueAsString(parameters);
        List<Integer> todo = new ArrayList<>();
        int owned = 0;
        for (int i = rank; i < labels.length; i += world) {
            owned++;
            if (!written(i, paramsJson)) todo.add(i);
        }
        Generation generation = model.generation();
        Sampler sampler = generation.sampler(options);
        dit4j.runtime.Threads.configureFor(options.precision());
        model.model().eval();
        int rows = rowsPerBatch();
        int batches = (todo.size() + rows - 1) / rows, total = batches * sampler.steps();
        int c = model.model().config.inChannels(), s = model.model().config.inputSize();
        for (int b = 0; b < batches; b++) {
            int[] idx = todo.subList(b * rows, Math.min(todo.size(), (b + 1) * rows)).stream().mapToInt(Integer::intValue).toArray();
            int done = b * sampler.steps();
            float[] pixels;
            long[] shape;
            try (Step step = Step.open(); InferenceMode guard = new InferenceMode()) {
                // Padded to `rows` (zeros, label 0): every image is computed in a batch of the same size.
                Generator[] gens = IndexedNoise.generators(options.seed(), idx);
                Tensor z = onDevice(pad(IndexedNoise.randn(gens, new long[] {idx.length, c, s, s}, ScalarType.Float), rows));
                long[] ys = new long[rows];
                for (int j = 0; j < idx.length; j++) ys[j] = labels[idx[j]];
                Tensor y = onDevice(Tensors.longs(ys));
                NoiseSource noise = like -> {
                    // Guidance doubles the model input; both halves get the same rows (the model reads the first).
                    long[] dims = like.sizes().vec().get();
                    Tensor real = pad(IndexedNoise.randn(gens, dims, like.scalar_type().intern()), rows);
                    Tensor all = dims[0] == 2L * rows ? cat(0, real, real) : real;
                    return dit4j.runtime.Devices.to(all, like.device());
                };
                Tensor x0 = generation.sampleBatch(sampler, z, y, noise, options,
                        (k, n) -> progress.onStep(done + k, total)).narrow(0, 0, idx.length);
                Tensor images = vae != null ? Decoding.decode(x0.contiguous(), vae, model.latentScaling(), decodeTile) : x0.contiguous();
                pixels = Tensors.toFloats(images);
                shape = Tensors.shape(images);
            }
            int ch = (int) shape[1], h = (int) shape[2], w = (int) shape[3], per = ch * h * w;
            for (int j = 0; j < idx.length; j++) {
                byte[] hwc = Images.toUint8HWC(Arrays.copyOfRange(pixels, j * per, (j + 1) * per), ch, h, w);
                Images.writePng(png(out, idx[j]), Images.toImage(hwc, ch, h, w), text(idx[j], paramsJson));
            }
        }
        return new Counts(owned, todo.size(), owned - todo.size());
    }

    private Tensor onDevice(Tensor t) {
        return device == null ? t : dit4j.runtime.Devices.to(t, device);
    }

    /** {@code t} with zero rows appended up to {@code rows}. */
    private static Tensor pad(Tensor t, int rows) {
        long n = t.size(0);
        if (n == rows) return t;
        long[] shape = t.sizes().vec().get();
        shape[0] = rows - n;
        return cat(0, t, torch.zeros(shape, new TensorOptions(t.scalar_type().intern())));
    }

    private Map<String, String> text(int i, String paramsJson) {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("dit4j.index", Integer.toString(i));
        text.put("dit4j.label", Long.toString(labels[i]));
        List<String> names = model.classNames();
        if (names != null) text.put("dit4j.class_name", names.get((int) labels[i]));
        text.put("parameters", paramsJson);
        return text;
    }

    /** True when image i is already there; one made with other settings (another seed, say) is an error, not silently kept. */
    private boolean written(int i, String paramsJson) throws IOException {
        Path f = png(out, i);
        if (!Files.exists(f)) return false;
        Map<String, String> text;
        try {
            text = Images.readPngText(f);
        } catch (IOException | RuntimeException e) {
            throw new IOException(f + ": cannot be read (" + e.getMessage() + "); delete it to have it made again", e);
        }
        String label = text.get("dit4j.label");
        if (!Long.toString(labels[i]).equals(label) || !sameSettings(text.get("parameters"), paramsJson)) {
            throw new dit4j.OptionException(f + " was made with other settings (label " + label + ", " + text.get("parameters")
                    + "); use another --out or delete the old images");
        }
        return true;
    }

    /** The recorded parameters agree; of the checkpoint only the file name counts (its path may be spelled another way). */
    private static boolean sameSettings(String recorded, String ours) throws IOException {
        if (recorded == null) return false;
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        Map<?, ?> ra = json.readValue(recorded, Map.class), rb = json.readValue(ours, Map.class);
        for (Map.Entry<?, ?> e : ra.entrySet()) a.put(String.valueOf(e.getKey()), e.getValue());
        for (Map.Entry<?, ?> e : rb.entrySet()) b.put(String.valueOf(e.getKey()), e.getValue());
        a.put("checkpoint", Path.of(String.valueOf(a.get("checkpoint"))).getFileName().toString());
        b.put("checkpoint", Path.of(String.valueOf(b.get("checkpoint"))).getFileName().toString());
        return a.equals(b);
    }

    public int count() {
        return labels.length;
    }

    public long[] labels() {
        return labels.clone();
    }
}
