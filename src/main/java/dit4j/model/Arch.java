package dit4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The architectural choices beyond the official DiT: the paper's four conditioning designs
 * (Peebles & Xie 2022, Section 3.2) and options of DiT's descendants. The default is the official
 * model: adaLN-Zero blocks, sin-cos position table, LayerNorm, GELU MLP, no qk-norm.
 *
 * @param block how the blocks see the timestep and label
 * @param qkNorm per-head normalisation of queries and keys before attention
 * @param pos added 2-D sin-cos table, or 2-D rotary embeddings on q and k
 * @param mlp the feed-forward layer of every block
 * @param norm the normalisation of every block and of the final layer
 */
public record Arch(Block block, QkNorm qkNorm, Pos pos, MlpKind mlp, NormKind norm) {
    public static final Arch OFFICIAL = new Arch(Block.ADALN_ZERO, QkNorm.NONE, Pos.SINCOS, MlpKind.GELU, NormKind.LAYERNORM);

    public enum Block implements Named {
        ADALN_ZERO("adaln-zero"), ADALN("adaln"), CROSS_ATTENTION("cross-attention"), IN_CONTEXT("in-context");
        final String id;
        Block(String id) { this.id = id; }
        public String id() { return id; }
    }

    public enum QkNorm implements Named {
        NONE("none"), LAYERNORM("layernorm"), RMSNORM("rmsnorm");
        final String id;
        QkNorm(String id) { this.id = id; }
        public String id() { return id; }
    }

    public enum Pos implements Named {
        SINCOS("sincos"), ROPE("rope");
        final String id;
        Pos(String id) { this.id = id; }
        public String id() { return id; }
    }

    public enum MlpKind implements Named {
        GELU("gelu"), SWIGLU("swiglu");
        final String id;
        MlpKind(String id) { this.id = id; }
        public String id() { return id; }
    }

    public enum NormKind implements Named {
        LAYERNORM("layernorm"), RMSNORM("rmsnorm");
        final String id;
        NormKind(String id) { this.id = id; }
        public String id() { return id; }
    }

    /** The name on the command line and in checkpoints. */
    public interface Named {
        String id();
    }

    /** The constant of {@code type} named {@code id}, or an error listing the choices. */
    public static <E extends Enum<E> & Named> E parse(Class<E> type, String what, String id) {
        for (E e : type.getEnumConstants()) if (e.id().equalsIgnoreCase(id.trim())) return e;
        throw new IllegalArgumentException("unknown " + what + " '" + id + "': expected one of "
                + Arrays.stream(type.getEnumConstants()).map(Named::id).collect(Collectors.joining(", ")));
    }

    public Arch withBlock(Block b) {
        return new Arch(b, qkNorm, pos, mlp, norm);
    }

    public boolean isOfficial() {
        return equals(OFFICIAL);
    }

    /** e.g. {@code in-context, qk-norm rmsnorm, rope}: the block and every option that is not the default. */
    public String describe() {
        StringBuilder s = new StringBuilder(block.id);
        if (qkNorm != QkNorm.NONE) s.append(", qk-norm ").append(qkNorm.id);
        if (pos != Pos.SINCOS) s.append(", ").append(pos.id);
        if (mlp != MlpKind.GELU) s.append(", ").append(mlp.id);
        if (norm != NormKind.LAYERNORM) s.append(", ").append(norm.id);
        return s.toString();
    }

    void writeTo(ObjectNode o) {
        o.put("block", block.id);
        o.put("qk_norm", qkNorm.id);
        o.put("pos", pos.id);
        o.put("mlp", mlp.id);
        o.put("norm", norm.id);
    }

    /** Absent keys take the official values, so configurations written before these options still read. */
    static Arch readFrom(JsonNode o) {
        return new Arch(
                parse(Block.class, "block", o.path("block").asText(Block.ADALN_ZERO.id)),
                parse(QkNorm.class, "qk_norm", o.path("qk_norm").asText(QkNorm.NONE.id)),
                parse(Pos.class, "pos", o.path("pos").asText(Pos.SINCOS.id)),
                parse(MlpKind.class, "mlp", o.path("mlp").asText(MlpKind.GELU.id)),
                parse(NormKind.class, "norm", o.path("norm").asText(NormKind.LAYERNORM.id)));
    }
}
