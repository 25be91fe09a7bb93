package dit4j.sample;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.Images;
import dit4j.io.Npz;
import dit4j.runtime.Tensors;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes generated images: {@code samples.png} (a grid, one row per class for per-class requests),
 * {@code images/NNNNNN.png} with the generation parameters in their text chunks, and
 * {@code samples.npz} ({@code arr_0} uint8 N x H x W x C, {@code labels}), the official evaluation layout.
 */
public final class SampleWriter {
    private final Path dir;
    private final Path checkpoint;
    private Integer perClass;
    private Integer gridColumns;
    private boolean images = true;
    private boolean npz = true;

    public SampleWriter(Path dir, Path checkpoint) {
        this.dir = dir;
        this.checkpoint = checkpoint;
    }

    /** Lay the grid out one row per class, {@code n} images each. */
    public SampleWriter perClass(Integer n) {
        perClass = n;
        return this;
    }

    public SampleWriter gridColumns(Integer n) {
        gridColumns = n;
        return this;
    }

    public SampleWriter images(boolean write) {
        images = write;
        return this;
    }

    public SampleWriter npz(boolean write) {
        npz = write;
        return this;
    }

    public Path grid() {
        return dir.resolve("samples.png");
    }

    /** The parameters recorded with every image. */
    public Map<String, Object> parameters(Generation.Options o) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("checkpoint", checkpoint.toString());
        params.put("sampler", o.sampler());
        params.put("steps", o.steps());
        params.put("cfg_scale", o.cfgScale());
        params.put("cfg_channels", o.cfgChannels() <= 0 ? "all" : o.cfgChannels());
        params.put("seed", o.seed());
        params.put("batch_size", o.batchSize());
        return params;
    }

    /** {@code images} (N, C, H, W) in [-1, 1]. */
    public void write(Tensor images, long[] ys, List<String> names, Generation.Options o) throws IOException {
        Files.createDirectories(dir);
        long[] shape = Tensors.shape(images);
        int n = (int) shape[0], c = (int) shape[1], h = (int) shape[2], w = (int) shape[3];
        float[] all = Tensors.toFloats(images);
        int per = c * h * w;
        byte[] hwcAll = new byte[n * per];
        List<BufferedImage> tiles = new ArrayList<>();
        String paramsJson = new ObjectMapper().writeValueAsString(parameters(o));
        if (this.images) Files.createDirectories(dir.resolve("images"));
        for (int i = 0; i < n; i++) {
            byte[] hwc = Images.toUint8HWC(Arrays.copyOfRange(all, i * per, (i + 1) * per), c, h, w);
            System.arraycopy(hwc, 0, hwcAll, i * per, per);
            BufferedImage img = Images.toImage(hwc, c, h, w);
            tiles.add(img);
            if (this.images) {
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
        Images.writePng(grid(), grid, Map.of("parameters", paramsJson));
        if (npz) {
            Map<String, Npz.Array> arrays = new LinkedHashMap<>();
            arrays.put("arr_0", Npz.Array.uint8(hwcAll, n, h, w, c));
            arrays.put("labels", Npz.Array.int64(ys, n));
            Npz.write(dir.resolve("samples.npz"), arrays);
        }
    }
}
