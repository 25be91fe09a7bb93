package dit4j.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;

/**
 * The fields of diffusers' {@code AutoencoderKL} {@code config.json} that shape the network.
 *
 * @param blockOutChannels channels of each resolution level, e.g. [128, 256, 512, 512]
 * @param layersPerBlock resnets per encoder level (the decoder has one more)
 * @param scalingFactor latents are multiplied by this before diffusion (0.18215 for SD)
 */
public record VaeConfig(int inChannels, int outChannels, int[] blockOutChannels, int layersPerBlock, int latentChannels,
                        int normNumGroups, double scalingFactor, boolean useQuantConv, boolean usePostQuantConv,
                        boolean midBlockAddAttention) {

    public VaeConfig {
        if (blockOutChannels.length == 0) throw new IllegalArgumentException("block_out_channels is empty");
        for (int c : blockOutChannels) {
            if (c % normNumGroups != 0) throw new IllegalArgumentException("block_out_channels " + Arrays.toString(blockOutChannels) + " not divisible by norm_num_groups " + normNumGroups);
        }
    }

    /** stabilityai/sd-vae-ft-ema and -mse, the VAE of the official DiT models. */
    public static VaeConfig sd() {
        return new VaeConfig(3, 3, new int[] {128, 256, 512, 512}, 2, 4, 32, 0.18215, true, true, true);
    }

    /** Spatial downsampling factor: 2 per level but the last. */
    public int downsampling() {
        return 1 << (blockOutChannels.length - 1);
    }

    public static VaeConfig fromJson(JsonNode n) {
        JsonNode boc = n.get("block_out_channels");
        if (boc == null || !boc.isArray()) throw new IllegalArgumentException("VAE config lacks block_out_channels");
        int[] channels = new int[boc.size()];
        for (int i = 0; i < channels.length; i++) channels[i] = boc.get(i).asInt();
        for (String key : new String[] {"down_block_types", "up_block_types"}) {
            JsonNode types = n.get(key);
            if (types != null) {
                for (JsonNode t : types) {
                    String s = t.asText();
                    if (!s.equals("DownEncoderBlock2D") && !s.equals("UpDecoderBlock2D")) throw new IllegalArgumentException("VAE block type '" + s + "' is not supported (DownEncoderBlock2D / UpDecoderBlock2D)");
                }
            }
        }
        String act = n.path("act_fn").asText("silu");
        if (!act.equals("silu")) throw new IllegalArgumentException("VAE act_fn '" + act + "' is not supported (silu)");
        return new VaeConfig(n.path("in_channels").asInt(3), n.path("out_channels").asInt(3), channels,
                n.path("layers_per_block").asInt(1), n.path("latent_channels").asInt(4), n.path("norm_num_groups").asInt(32),
                n.path("scaling_factor").asDouble(0.18215), n.path("use_quant_conv").asBoolean(true),
                n.path("use_post_quant_conv").asBoolean(true), n.path("mid_block_add_attention").asBoolean(true));
    }

    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("_class_name", "AutoencoderKL");
        o.put("in_channels", inChannels);
        o.put("out_channels", outChannels);
        ArrayNode down = o.putArray("down_block_types"), up = o.putArray("up_block_types"), boc = o.putArray("block_out_channels");
        for (int c : blockOutChannels) {
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
            boc.add(c);
        }
        o.put("layers_per_block", layersPerBlock);
        o.put("act_fn", "silu");
        o.put("latent_channels", latentChannels);
        o.put("norm_num_groups", normNumGroups);
        o.put("scaling_factor", scalingFactor);
        o.put("use_quant_conv", useQuantConv);
        o.put("use_post_quant_conv", usePostQuantConv);
        o.put("mid_block_add_attention", midBlockAddAttention);
        return o;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VaeConfig v && toJson().equals(v.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return toJson().toString();
    }
}
