package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.diffusion.DiffusionConfig;
import dit4j.io.Images;
import dit4j.io.Npz;
import dit4j.model.Pretrained;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import dit4j.runtime.Step;
import dit4j.sample.ClassNames;
import dit4j.sample.Generation;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.VaeFiles;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit sample}: images from a checkpoint (ours or official). */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample class-conditional images from a checkpoint (dit4j or official: .pt state dict, train.py checkpoint, .safetensors).",
                "Writes DIR/samples.png (a grid), DIR/images/NNNNNN.png (generation parameters in the PNG text chunks) and",
                "DIR/samples.npz (arr_0: uint8 N x H x W x C, labels: int64), the layout of the official evaluation.",
                "Sampler defaults come from the checkpoint's training run when it recorded them, else from the official sample.py (DDPM 250 steps, guidance 4.0)."})
public final class SampleCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "The checkpoint.")
    Path checkpoint;

    @Option(names = "--labels", split = ",", description = "Class ids (or names recorded in the checkpoint), comma-separated.")
    List<String> labels;

    @Option(names = "--per-class", description = "N images of every class (rows of the grid).")
    Integer perClass;

    @Option(names = "--cfg-scale", description = "Classifier-free guidance scale; 1 is off.")
    Double cfgScale;

    @Option(names = "--cfg-channels", description = "Channels that get guidance: 3 (official rule) or all.")
    String cfgChannels;

    @Option(names = "--sampler", description = "ddpm or ddim.")
    String sampler;

    @Option(names = "--steps", description = "Sampling steps (respacing), e.g. 250 or 50.")
    String steps;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM noise (default ${DEFAULT-VALUE}).")
    double eta;

    @Option(names = "--clip", negatable = true, description = "Clamp x0 predictions to [-1, 1] (off in the official sampler; on by default for runs that recorded it, like the demo).")
    Boolean clip;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of all noise (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "64", description = "Images per batch (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--precision", defaultValue = "float32", description = "float32 or bfloat16.")
    String precision;

    @Option(names = "--raw-weights", description = "Use the trained weights ('model') instead of the EMA.")
    boolean rawWeights;

    @Option(names = "--num-heads", defaultValue = "0", description = "Attention heads, when a bare state dict of a non-official width cannot tell.")
    int numHeads;

    @Option(names = "--vae", description = "VAE folder for a latent model (e.g. from `dit download sd-vae-ft-ema`); default: the one its training run used.")
    Path vae;

    @Option(names = "--vae-config", description = "config.json for a --vae given as a single weights file.")
    Path vaeConfig;

    @Option(names = "--decode-tile", defaultValue = "0", description = "Decode latents in overlapping tiles of this many latent pixels (bounded memory for large images); 0 decodes whole images one at a time.")
    int decodeTile;

    @Option(names = "--out", defaultValue = "samples", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--grid-columns", description = "Images per grid row (default: 4, or the per-class count up to 10).")
    Integer gridColumns;

    @Option(names = "--no-images", negatable = false, description = "Skip the per-image PNGs.")
    boolean noImages;

    /** The official sample.py's classes, for 1000-class models. */
    static final long[] OFFICIAL_LABELS = {207, 360, 387, 974, 88, 979, 417, 279};

    @Override
    public Integer call() throws Exception {
        Pretrained p = Pretrained.load(checkpoint, null, !rawWeights, numHeads);
        Map<String, Object> args = p.file().args();
        List<String> names = classNames(args, p.config().numClasses());
        Generation.Options o = options(args, p.config().inChannels());
        long[] ys = labels(names, p.config().numClasses());
        DiffusionConfig dc = DiffusionConfig.defaults()
                .withSchedule(String.valueOf(args.getOrDefault("noise_schedule", "linear")), ((Number) args.getOrDefault("diffusion_steps", 1000)).intValue())
                .withLearnSigma(p.config().learnSigma());
        System.err.printf("sampling %d images from %s (%s weights): %s %s steps, guidance %.2f on %s channels, seed %d%n",
                ys.length, checkpoint.getFileName(), p.file().weightsKey().isEmpty() ? "state dict" : p.file().weightsKey(),
                o.sampler(), o.steps(), o.cfgScale(), o.cfgChannels() <= 0 ? "all" : Integer.toString(o.cfgChannels()), o.seed());
        Generation gen = new Generation(p.model(), dc);
        long t0 = System.nanoTime();
        Tensor images;
        try (Progress bar = new Progress("sample", 1)) {
            images = gen.generate(ys, o, (done, total) -> {
                bar.maxHint(total);
                bar.stepTo(done, null);
            });
        }
        if (isLatent(args, p.config().inChannels())) images = decode(images, args);
        double secs = (System.nanoTime() - t0) / 1e9;
        write(images, ys, names, o, out);
        System.out.printf("%d images in %.1f s (%.2f s/image)%n", ys.length, secs, secs / ys.length);
        System.out.printf("grid:   %s%n", out.resolve("samples.png"));
        System.out.printf("npz:    %s%n", out.resolve("samples.npz"));
        if (!noImages) System.out.printf("images: %s%n", out.resolve("images"));
        return 0;
    }

    /** Ours record a latent scaling; an official checkpoint (no such record) with 4 input channels is a latent model. */
    static boolean isLatent(Map<String, Object> args, int inChannels) {
        Object s = args.get("latent_scaling");
        if (s instanceof Number n) return n.doubleValue() > 0;
        return inChannels == 4;
    }

    private Tensor decode(Tensor latents, Map<String, Object> args) throws Exception {
        Path v = vae;
        if (v == null && args.get("vae_path") instanceof String recorded && Files.exists(Path.of(recorded))) v = Path.of(recorded);
        if (v == null) {
            throw new IllegalArgumentException(checkpoint + " is a latent model: pass --vae DIR with its VAE (e.g. `dit download sd-vae-ft-ema`)");
        }
        AutoencoderKL model = VaeFiles.load(v, vaeConfig);
        double scaling = args.get("latent_scaling") instanceof Number n && n.doubleValue() > 0 ? n.doubleValue() : model.config.scalingFactor();
        System.err.printf("decoding %d latents with %s%n", latents.size(0), v);
        int f = model.config.downsampling();
        Tensor images = org.bytedeco.pytorch.global.torch.empty(new long[] {latents.size(0), model.config.outChannels(), latents.size(2) * f, latents.size(3) * f},
                Tensors.options(org.bytedeco.pytorch.global.torch.ScalarType.Float), null);
        try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
            Tensor z = latents.div(new Scalar(scaling));
            images.copy_(decodeTile > 0 ? model.decodeTiled(z, decodeTile, 0.25) : model.decodeSliced(z));
        }
        return images;
    }

    private Generation.Options options(Map<String, Object> args, int inChannels) {
        Generation.Options official = Generation.Options.official();
        String s = sampler != null ? sampler : String.valueOf(args.getOrDefault("sample_sampler", official.sampler()));
        String st = steps != null ? steps : String.valueOf(args.getOrDefault("sample_steps", official.steps()));
        double cfg = cfgScale != null ? cfgScale : ((Number) args.getOrDefault("sample_cfg_scale", official.cfgScale())).doubleValue();
        String ch = cfgChannels != null ? cfgChannels : String.valueOf(args.getOrDefault("sample_cfg_channels", "3"));
        int channels;
        if (ch.equals("all")) channels = 0;
        else {
            try {
                channels = Integer.parseInt(ch);
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--cfg-channels must be 3 or all, got '" + ch + "'");
            }
        }
        boolean clipX0 = clip != null ? clip : Boolean.TRUE.equals(args.get("sample_clip"));
        return new Generation.Options(s, st, eta, cfg, channels, clipX0, seed, batchSize, Precision.parse(precision));
    }

    @SuppressWarnings("unchecked")
    static List<String> classNames(Map<String, Object> args, int numClasses) {
        if (args.get("class_names") instanceof List<?> l && l.size() == numClasses) {
            List<String> out = new ArrayList<>();
            for (Object o : l) out.add(String.valueOf(o));
            return out;
        }
        return numClasses == 1000 ? ClassNames.imagenet() : null;
    }

    private long[] labels(List<String> names, int numClasses) {
        if (perClass != null && labels != null) throw new CommandLine.ParameterException(spec.commandLine(), "give --labels or --per-class, not both");
        if (perClass != null) {
            if (perClass < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--per-class must be positive");
            long[] ys = new long[numClasses * perClass];
            for (int i = 0; i < ys.length; i++) ys[i] = i / perClass;
            return ys;
        }
        if (labels == null) {
            if (numClasses == 1000) return OFFICIAL_LABELS.clone();
            long[] ys = new long[numClasses];
            for (int i = 0; i < numClasses; i++) ys[i] = i;
            return ys;
        }
        long[] ys = new long[labels.size()];
        for (int i = 0; i < ys.length; i++) ys[i] = parseLabel(labels.get(i).trim(), names, numClasses);
        return ys;
    }

    private long parseLabel(String s, List<String> names, int numClasses) {
        try {
            return ClassNames.parse(s, names, numClasses);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--labels: " + e.getMessage());
        }
    }

    /** Writes the grid, the per-image PNGs and the npz. */
    void write(Tensor images, long[] ys, List<String> names, Generation.Options o, Path dir) throws Exception {
        Files.createDirectories(dir);
        long[] shape = Tensors.shape(images);
        int n = (int) shape[0], c = (int) shape[1], h = (int) shape[2], w = (int) shape[3];
        float[] all = Tensors.toFloats(images);
        int per = c * h * w;
        byte[] hwcAll = new byte[n * per];
        List<BufferedImage> tiles = new ArrayList<>();
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("checkpoint", checkpoint.toString());
        params.put("sampler", o.sampler());
        params.put("steps", o.steps());
        params.put("cfg_scale", o.cfgScale());
        params.put("cfg_channels", o.cfgChannels() <= 0 ? "all" : o.cfgChannels());
        params.put("seed", o.seed());
        params.put("batch_size", o.batchSize());
        String paramsJson = new ObjectMapper().writeValueAsString(params);
        if (!noImages) Files.createDirectories(dir.resolve("images"));
        for (int i = 0; i < n; i++) {
            float[] chw = java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per);
            byte[] hwc = Images.toUint8HWC(chw, c, h, w);
            System.arraycopy(hwc, 0, hwcAll, i * per, per);
            BufferedImage img = Images.toImage(hwc, c, h, w);
            tiles.add(img);
            if (!noImages) {
                Map<String, String> text = new LinkedHashMap<>();
                text.put("dit4j.index", Integer.toString(i));
                text.put("dit4j.label", Long.toString(ys[i]));
                if (names != null) text.put("dit4j.class_name", names.get((int) ys[i]));
                text.put("parameters", paramsJson);
                Images.writePng(dir.resolve("images").resolve(String.format("%06d.png", i)), img, text);
            }
        }
        int cols = gridColumns != null ? gridColumns : perClass != null ? Math.min(perClass, 10) : 4;
        List<BufferedImage> shown = tiles;
        List<String> rowLabels = null;
        if (perClass != null) {
            // One row per class, the first `cols` images of each.
            shown = new ArrayList<>();
            rowLabels = new ArrayList<>();
            for (int k = 0; k < n / perClass; k++) {
                for (int j = 0; j < cols && j < perClass; j++) shown.add(tiles.get(k * perClass + j));
                rowLabels.add(names != null ? names.get(k) : "class " + k);
            }
        }
        BufferedImage grid = Images.grid(shown, cols, 2);
        if (rowLabels != null) grid = Images.labelRows(grid, rowLabels, h + 2);
        Images.writePng(dir.resolve("samples.png"), grid, Map.of("parameters", paramsJson));
        Map<String, Npz.Array> arrays = new LinkedHashMap<>();
        arrays.put("arr_0", Npz.Array.uint8(hwcAll, n, h, w, c));
        arrays.put("labels", Npz.Array.int64(ys, n));
        Npz.write(dir.resolve("samples.npz"), arrays);
    }
}
