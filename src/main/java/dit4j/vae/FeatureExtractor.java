package dit4j.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dit4j.data.ImageDataset;
import dit4j.data.LatentStore;
import dit4j.io.AtomicFiles;
import dit4j.io.Safetensors;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Encodes an image dataset once into a {@link LatentStore}: the VAE posterior of every image (and
 * of its mirror image, when asked), in shards written atomically, so an interrupted extraction
 * resumes at the first missing shard.
 */
public final class FeatureExtractor {
    private FeatureExtractor() {}

    /**
     * @param shardSize images per shard
     * @param batchSize images encoded at once
     * @param progress told the number of images done
     */
    public static void extract(AutoencoderKL vae, Path vaePath, ImageDataset data, Path out, boolean flips, int shardSize, int batchSize,
                               String source, IntConsumer progress) throws IOException {
        if (data.channels() != vae.config.inChannels()) {
            throw new IllegalArgumentException("the VAE takes " + vae.config.inChannels() + "-channel images, the data has " + data.channels() + " (use --channels " + vae.config.inChannels() + ")");
        }
        if (data.imageSize() % vae.config.downsampling() != 0) {
            throw new IllegalArgumentException("--image-size " + data.imageSize() + " is not divisible by the VAE's downsampling " + vae.config.downsampling());
        }
        Files.createDirectories(out);
        ObjectNode manifest = manifest(vae, data, flips, shardSize, source);
        manifest.put("vae_path", vaePath.toAbsolutePath().toString());
        JsonNode existing = LatentStore.readManifest(out);
        if (existing != null) {
            ObjectNode a = existing.deepCopy(), b = manifest.deepCopy();
            a.remove("complete");
            b.remove("complete");
            if (!a.equals(b)) throw new IllegalArgumentException(out + " holds features of other data or another VAE; choose an empty --out");
        }
        writeManifest(out, manifest, false);
        int shards = (data.size() + shardSize - 1) / shardSize;
        int done = 0;
        for (int s = 0; s < shards; s++) {
            int from = s * shardSize, n = Math.min(shardSize, data.size() - from);
            Path file = LatentStore.shardPath(out, s);
            if (!Files.exists(file)) writeShard(vae, data, file, from, n, flips, batchSize, done, progress);
            done += n;
            progress.accept(done);
        }
        writeManifest(out, manifest, true);
    }

    private static void writeShard(AutoencoderKL vae, ImageDataset data, Path file, int from, int n, boolean flips, int batchSize,
                                   int doneBefore, IntConsumer progress) throws IOException {
        int c = vae.config.latentChannels(), h = data.imageSize() / vae.config.downsampling();
        Tensor mean = torch.empty(new long[] {n, c, h, h}, Tensors.options(ScalarType.Half), null);
        Tensor logvar = torch.empty(new long[] {n, c, h, h}, Tensors.options(ScalarType.Half), null);
        Tensor meanFlip = flips ? torch.empty(new long[] {n, c, h, h}, Tensors.options(ScalarType.Half), null) : null;
        Tensor logvarFlip = flips ? torch.empty(new long[] {n, c, h, h}, Tensors.options(ScalarType.Half), null) : null;
        long[] labels = new long[n];
        int per = data.imageLength();
        for (int b = 0; b < n; b += batchSize) {
            int m = Math.min(batchSize, n - b);
            for (boolean flip : flips ? new boolean[] {false, true} : new boolean[] {false}) {
                float[] x = new float[m * per];
                for (int i = 0; i < m; i++) {
                    data.read(from + b + i, flip, x, i * per);
                    labels[b + i] = data.label(from + b + i);
                }
                try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                    AutoencoderKL.Posterior p = vae.encode(Tensors.floats(x, m, data.channels(), data.imageSize(), data.imageSize()));
                    (flip ? meanFlip : mean).narrow(0, b, m).copy_(p.mean());
                    (flip ? logvarFlip : logvar).narrow(0, b, m).copy_(p.logvar());
                }
            }
            progress.accept(doneBefore + b + m);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("mean", mean);
        tensors.put("logvar", logvar);
        if (flips) {
            tensors.put("mean_flip", meanFlip);
            tensors.put("logvar_flip", logvarFlip);
        }
        tensors.put("labels", Tensors.longs(labels));
        Safetensors.write(file, tensors, Map.of());
    }

    private static ObjectNode manifest(AutoencoderKL vae, ImageDataset data, boolean flips, int shardSize, String source) {
        ObjectNode m = new ObjectMapper().createObjectNode();
        m.put("format", LatentStore.FORMAT);
        m.put("source", source);
        m.put("num_images", data.size());
        m.put("image_size", data.imageSize());
        m.put("channels", vae.config.latentChannels());
        m.put("latent_size", data.imageSize() / vae.config.downsampling());
        m.put("num_classes", data.numClasses());
        ArrayNode names = m.putArray("class_names");
        data.classNames().forEach(names::add);
        m.put("flips", flips);
        m.put("shard_size", shardSize);
        m.put("scaling_factor", vae.config.scalingFactor());
        m.set("vae", vae.config.toJson());
        return m;
    }

    private static void writeManifest(Path out, ObjectNode m, boolean complete) throws IOException {
        m.put("complete", complete);
        byte[] json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(m);
        AtomicFiles.write(out.resolve(LatentStore.MANIFEST), o -> o.write(json));
    }
}
