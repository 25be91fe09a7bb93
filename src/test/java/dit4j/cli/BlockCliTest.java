package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TinyData;
import dit4j.io.Npz;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --block and the descendants' flags through dit train, dit info and dit sample. */
class BlockCliTest {
    @TempDir
    Path tmp;

    @Test
    void aDesignChosenAtTrainingTimeIsRecordedAndSampledWithoutFlags() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 16, 8, 4, 3);
        Path run = tmp.resolve("run");
        Cli.Result t = Cli.run(TrainCliTest.train(data, run, "--steps", "2", "--block", "in-context", "--pos", "rope", "--qk-norm", "rmsnorm", "--mlp", "swiglu"));
        assertEquals(0, t.exit(), t.err());
        String ckpt = run.resolve("checkpoints/0000002.pt").toString();

        Cli.Result info = Cli.run("info", "--checkpoint", ckpt, "--json");
        assertEquals(0, info.exit(), info.err());
        JsonNode o = new ObjectMapper().readTree(info.out());
        assertEquals("in-context", o.get("block").asText());
        assertEquals("rope", o.get("config").get("pos").asText());
        assertEquals("rmsnorm", o.get("config").get("qk_norm").asText());
        assertEquals("swiglu", o.get("config").get("mlp").asText());

        Path out = tmp.resolve("samples");
        Cli.Result s = Cli.run("sample", "--checkpoint", ckpt, "--labels", "1,2", "--sampler", "ddim", "--steps", "3", "--seed", "1", "--out", out.toString(), "--no-images");
        assertEquals(0, s.exit(), s.err());
        assertEquals(2, Npz.read(out.resolve("samples.npz")).get("arr_0").shape()[0]);

        // RoPE carries no table tied to the size: the 8-pixel model samples at 16
        Path big = tmp.resolve("big");
        Cli.Result b = Cli.run("sample", "--checkpoint", ckpt, "--labels", "1", "--sampler", "ddim", "--steps", "3", "--image-size", "16", "--out", big.toString(), "--no-images");
        assertEquals(0, b.exit(), b.err());
        assertArrayEquals(new long[] {1, 16, 16, 1}, Npz.read(big.resolve("samples.npz")).get("arr_0").shape());
    }

    /** adaLN's weights have adaLN-Zero's names and shapes: the record decides, and a given configuration of the other design is refused. */
    @Test
    void anAdaLNCheckpointRefusesToLoadAsAdaLNZero() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 16, 8, 4, 3);
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run(TrainCliTest.train(data, run, "--steps", "1", "--block", "adaln")).exit());
        Path ckpt = run.resolve("checkpoints/0000001.pt");
        dit4j.model.DiTConfig recorded = dit4j.model.Pretrained.load(ckpt, null, true, 0).config();
        assertEquals(dit4j.model.Arch.Block.ADALN, recorded.block());
        dit4j.model.DiTConfig asZero = recorded.withArch(recorded.arch().withBlock(dit4j.model.Arch.Block.ADALN_ZERO));
        dit4j.io.CheckpointException e = org.junit.jupiter.api.Assertions.assertThrows(dit4j.io.CheckpointException.class,
                () -> dit4j.model.Pretrained.load(ckpt, asZero, true, 0));
        assertTrue(e.getMessage().contains("records adaln blocks") && e.getMessage().contains("adaln-zero blocks"), e.getMessage());
    }

    @Test
    void aSinCosModelRefusesAnotherSize() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 16, 8, 4, 3);
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run(TrainCliTest.train(data, run, "--steps", "1")).exit());
        String ckpt = run.resolve("checkpoints/0000001.pt").toString();
        Cli.Result r = Cli.run("sample", "--checkpoint", ckpt, "--labels", "1", "--steps", "3", "--image-size", "16", "--out", tmp.resolve("x").toString(), "--no-images");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--image-size") && r.err().contains("--pos rope"), r.err());
        Cli.Result same = Cli.run("sample", "--checkpoint", ckpt, "--labels", "1", "--sampler", "ddim", "--steps", "3", "--image-size", "8", "--out", tmp.resolve("y").toString(), "--no-images");
        assertEquals(0, same.exit(), same.err());
    }

    @Test
    void infoReportsThePapersGflopsPerDesign() throws Exception {
        String[] blocks = {"adaln-zero", "adaln", "in-context", "cross-attention"};
        double[] gflops = {118.621, 118.621, 119.357, 137.605};
        for (int i = 0; i < blocks.length; i++) {
            Cli.Result r = Cli.run("info", "--block", blocks[i], "--model", "DiT-XL/2", "--image-size", "256", "--json");
            assertEquals(0, r.exit(), r.err());
            assertEquals(gflops[i], new ObjectMapper().readTree(r.out()).get("gflops").asDouble(), 1e-9, blocks[i]);
        }
        Cli.Result bad = Cli.run("info", "--block", "adaln-one");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("adaln-zero, adaln, cross-attention, in-context"), bad.err());
    }
}
