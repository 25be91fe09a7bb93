package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.data.ImageDataset;
import dit4j.io.CheckpointException;
import dit4j.io.StateDicts;
import dit4j.model.Arch;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.runtime.Tensors;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every conditioning design and option trains, resumes exactly, saves, loads from its own record and runs. */
class VariantsTrainTest {
    @TempDir
    Path tmp;

    static Arch arch(String block, String qk, String pos, String mlp, String norm) {
        return new Arch(Arch.parse(Arch.Block.class, "block", block), Arch.parse(Arch.QkNorm.class, "qk", qk), Arch.parse(Arch.Pos.class, "pos", pos),
                Arch.parse(Arch.MlpKind.class, "mlp", mlp), Arch.parse(Arch.NormKind.class, "norm", norm));
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} {4}, grad checkpoint {5}")
    @CsvSource({
        "adaln, none, sincos, gelu, layernorm, false",
        "cross-attention, none, sincos, gelu, layernorm, false",
        "in-context, none, sincos, gelu, layernorm, true",
        "adaln-zero, layernorm, rope, swiglu, rmsnorm, false",
        "in-context, rmsnorm, rope, swiglu, rmsnorm, false",
        "cross-attention, rmsnorm, rope, gelu, rmsnorm, true"})
    void trainsResumesSavesLoadsAndRuns(String block, String qk, String pos, String mlp, String norm, boolean gradCheckpoint) throws Exception {
        DiTConfig config = TrainerTest.TINY.withArch(arch(block, qk, pos, mlp, norm));
        ImageDataset data = TinyData.memory(20, 8, 4, 3);
        TrainOptions o = TrainerTest.options(6, 3);
        o.gradCheckpoint = gradCheckpoint;
        RunDir full = RunDir.create(tmp.resolve("full"));
        TrainState a = TrainState.fresh(config, o, 0, 1);
        List<Double> uninterrupted = TrainerTest.train(o, data, full, a);
        assertEquals(6, uninterrupted.size());
        assertTrue(uninterrupted.stream().allMatch(l -> Double.isFinite(l)), uninterrupted.toString());

        TrainState b = TrainState.resume(full.checkpoint(3), o, config);
        List<Double> resumed = TrainerTest.train(o, data, RunDir.create(tmp.resolve("resumed")), b);
        assertEquals(uninterrupted.subList(3, 6), resumed, "losses after resume must equal the uninterrupted run's");
        Map<String, Tensor> emaB = StateDicts.of(b.ema);
        for (var e : StateDicts.of(a.ema).entrySet()) assertArrayEquals(Tensors.toFloats(e.getValue()), Tensors.toFloats(emaB.get(e.getKey())), e.getKey());

        // The checkpoint records the design: loading needs no configuration.
        Path ckpt = full.checkpoint(6);
        Pretrained p = Pretrained.load(ckpt, null, true, 0);
        assertEquals(config, p.config());
        for (var e : StateDicts.of(a.ema).entrySet()) assertArrayEquals(Tensors.toFloats(e.getValue()), Tensors.toFloats(StateDicts.of(p.model()).get(e.getKey())), e.getKey());
        assertEquals(config.outChannels(), run(p, config.inputSize()).size(1));

        // The same weights refuse to load as another design, naming both (adaLN's parameters are adaLN-Zero's).
        boolean ada = config.block() == Arch.Block.ADALN_ZERO || config.block() == Arch.Block.ADALN;
        Arch.Block other = ada ? Arch.Block.IN_CONTEXT : Arch.Block.ADALN_ZERO;
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Pretrained.load(ckpt, config.withArch(config.arch().withBlock(other)), true, 0));
        assertTrue(e.getMessage().contains(config.block().id()) && e.getMessage().contains(other.id()), e.getMessage());

        // Rotary embeddings tie the weights to no grid: the model runs at twice the size.
        if (config.arch().pos() == Arch.Pos.ROPE) {
            Pretrained big = Pretrained.load(ckpt, config.withInputSize(16), true, 0);
            Tensor out = run(big, 16);
            assertArrayEquals(new long[] {2, config.outChannels(), 16, 16}, Tensors.shape(out));
            assertTrue(Tensors.toFloats(out.isfinite().all().to(ScalarType.Float))[0] == 1f);
        }
    }

    /** A guided model evaluation, as a sampler's step calls it. */
    private static Tensor run(Pretrained p, int size) {
        try (InferenceMode mode = new InferenceMode()) {
            var g = torch.createCPUGenerator(5);
            Tensor x = torch.randn(new long[] {2, p.config().inChannels(), size, size}, new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
            Tensor t = Tensors.longs(new long[] {999, 999}, 2);
            Tensor y = Tensors.longs(new long[] {1, p.config().numClasses()}, 2);
            return p.model().forwardWithCfg(x, t, y, 4.0, 3).clone();
        }
    }

    @Test
    void oldConfigurationsReadAsTheOfficialDesign() throws Exception {
        var json = TrainerTest.TINY.toJson();
        for (String k : new String[] {"block", "qk_norm", "pos", "mlp", "norm"}) json.remove(k);
        assertEquals(TrainerTest.TINY, DiTConfig.fromJson(json));
        assertEquals(Arch.OFFICIAL, DiTConfig.fromJson(json).arch());
    }
}
