package dit4j.sample;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.Images;
import dit4j.runtime.Tensors;
import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * Generated images, plain Java memory (no native handles): pixels N x C x H x W in [-1, 1], the
 * latents of a latent model, and the parameters that made them.
 *
 * @param classNames per image, null entries for a model without names
 * @param parameters what {@code dit sample} records in each PNG
 * @param latents null for a pixel model
 */
public record Result(long[] labels, List<String> classNames, Generation.Options options, Map<String, Object> parameters,
                     int channels, int height, int width, float[] pixels, float[] latents) {

    public int count() {
        return labels.length;
    }

    /** Image {@code i} as HWC uint8, the official conversion. */
    public byte[] uint8(int i) {
        int per = channels * height * width;
        return Images.toUint8HWC(Arrays.copyOfRange(pixels, i * per, (i + 1) * per), channels, height, width);
    }

    public BufferedImage image(int i) {
        return Images.toImage(uint8(i), channels, height, width);
    }

    /** The PNG text chunks of image {@code i}, as {@code dit sample} writes them. */
    public Map<String, String> text(int i) {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("dit4j.index", Integer.toString(i));
        text.put("dit4j.label", Long.toString(labels[i]));
        if (classNames.get(i) != null) text.put("dit4j.class_name", classNames.get(i));
        try {
            text.put("parameters", new ObjectMapper().writeValueAsString(parameters));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return text;
    }

    /** Image {@code i} as a PNG file's bytes, with its parameters in text chunks. */
    public byte[] png(int i) {
        return Images.png(image(i), text(i));
    }

    /** All images as a new (N, C, H, W) float32 tensor; the caller owns it. */
    public Tensor tensor() {
        return Tensors.floats(pixels, labels.length, channels, height, width);
    }
}
