package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.io.Npz;
import dit4j.io.PtReader;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit train --objective flow, then dit sample from its checkpoint with SiT's samplers and the Gaussian ones. */
class FlowCliTest {
    @TempDir
    Path tmp;

    @Test
    void aFlowRunRecordsItsTransportAndSamplesWithTheOdeAndTheSde() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 32, 8, 4, 3);
        Path run = tmp.resolve("run");
        Cli.Result t = Cli.run(TrainCliTest.train(data, run, "--steps", "2", "--objective", "flow", "--path", "GVP", "--prediction", "velocity"));
        assertEquals(0, t.exit(), t.err());
        Path ckpt = run.resolve("checkpoints/0000002.pt");
        Map<?, ?> args = (Map<?, ?>) ((Map<?, ?>) PtReader.load(ckpt)).get("args");
        assertEquals("flow", args.get("objective"));
        assertEquals("GVP", args.get("flow_path"));
        assertEquals("ode", args.get("sample_sampler"));

        for (String sampler : new String[] {"ode", "ode-euler", "ode-dopri5", "sde", "dpm++2m", "dpm++3m", "ddpm", "ddim"}) {
            Path out = tmp.resolve(sampler);
            Cli.Result r = Cli.run("sample", "--checkpoint", ckpt.toString(), "--labels", "1,2", "--sampler", sampler, "--steps", "6",
                    "--cfg-scale", "2", "--seed", "3", "--out", out.toString(), "--no-images");
            assertEquals(0, r.exit(), r.err());
            assertArrayEquals(new long[] {2, 8, 8, 1}, Npz.read(out.resolve("samples.npz")).get("arr_0").shape());
        }
        // GVP with velocity samples from pure noise (alpha = 0) to the data: no finite log-SNR grid
        Cli.Result wrong = Cli.run("sample", "--checkpoint", ckpt.toString(), "--labels", "1", "--sampler", "dpm++2m-logsnr", "--steps", "5",
                "--out", tmp.resolve("x").toString(), "--no-images");
        assertEquals(2, wrong.exit());
        assertTrue(wrong.err().contains("--sampler dpm++2m-logsnr") && wrong.err().contains("log-SNR"), wrong.err());
        Cli.Result spec = Cli.run("sample", "--checkpoint", ckpt.toString(), "--labels", "1", "--sampler", "ddim", "--steps", "ddim5",
                "--out", tmp.resolve("z").toString(), "--no-images");
        assertEquals(2, spec.exit());
        assertTrue(spec.err().contains("--num-sampling-steps") && spec.err().contains("ddim5"), spec.err());
        Cli.Result stray = Cli.run("sample", "--checkpoint", ckpt.toString(), "--labels", "1", "--path", "Linear",
                "--out", tmp.resolve("y").toString(), "--no-images");
        assertEquals(2, stray.exit());
        assertTrue(stray.err().contains("--path") && stray.err().contains("--objective flow"), stray.err());
    }

    /** A bare state dict records no objective (the official SiT checkpoints): --objective flow samples it as the run would. */
    @Test
    void aBareStateDictSamplesAsAFlowWithObjectiveFlow() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 32, 8, 4, 3);
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run(TrainCliTest.train(data, run, "--steps", "2", "--objective", "flow", "--path", "GVP")).exit());
        Path ckpt = run.resolve("checkpoints/0000002.pt");
        Path bare = tmp.resolve("SiT-like.pt");
        dit4j.io.PtWriter.save(bare, ((Map<?, ?>) PtReader.load(ckpt)).get("ema"));
        String[] common = {"--labels", "1,2", "--sampler", "ode", "--steps", "6", "--cfg-scale", "2", "--seed", "3", "--no-images"};
        Cli.Result ref = Cli.run(cat(new String[] {"sample", "--checkpoint", ckpt.toString(), "--out", tmp.resolve("ref").toString()}, common));
        assertEquals(0, ref.exit(), ref.err());
        Cli.Result flow = Cli.run(cat(new String[] {"sample", "--checkpoint", bare.toString(), "--objective", "flow", "--path", "GVP",
                "--num-heads", "2", "--out", tmp.resolve("bare").toString()}, common));
        assertEquals(0, flow.exit(), flow.err());
        assertArrayEquals(Npz.read(tmp.resolve("ref/samples.npz")).get("arr_0").data(), Npz.read(tmp.resolve("bare/samples.npz")).get("arr_0").data());
        Cli.Result asDiffusion = Cli.run(cat(new String[] {"sample", "--checkpoint", bare.toString(), "--num-heads", "2", "--out", tmp.resolve("d").toString()}, common));
        assertNotEquals(0, asDiffusion.exit());
        assertTrue(asDiffusion.err().contains("flow-matching checkpoints"), asDiffusion.err());
    }

    private static String[] cat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** dit verify runs the sampler groups and reads their metadata (skip type, transport, methods). */
    @Test
    void verifyRunsTheDpmAndFlowGroups() {
        Path official = dit4j.TestFiles.resource("official");
        for (String[] f : new String[][] {{"x0_learned_cosine_p2", "dpm/x0_learned_cosine_p2.dpm3m_logSNR_s3"},
                {"eps_learned_linear_p2", "flow/flow_VP_score_none"}}) {
            Cli.Result r = Cli.run("verify", "--checkpoint", official.resolve(f[0] + ".safetensors").toString(),
                    "--vectors", official.resolve(f[1] + ".vectors.safetensors").toString());
            assertEquals(0, r.exit(), r.out() + r.err());
        }
    }

    @Test
    void badFlowFlagsAreNamed() {
        Cli.Result r = Cli.run(TrainCliTest.train(tmp.resolve("none"), tmp.resolve("run"), "--steps", "1", "--objective", "flow", "--path", "Curved"));
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("--path"), r.err());
        Cli.Result t = Cli.run(TrainCliTest.train(tmp.resolve("none"), tmp.resolve("run2"), "--steps", "1", "--objective", "flow", "--t-sampling", "logit-normal:0"));
        assertEquals(2, t.exit());
        assertTrue(t.err().contains("--t-sampling") && t.err().contains("logit-normal:0"), t.err());
    }

    /** Logit-normal times train, are recorded, and change the run (the times are drawn differently). */
    @Test
    void logitNormalTimesAreRecordedAndUsed() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 32, 8, 4, 3);
        Cli.Result u = Cli.run(TrainCliTest.train(data, tmp.resolve("u"), "--steps", "2", "--objective", "flow"));
        Cli.Result ln = Cli.run(TrainCliTest.train(data, tmp.resolve("ln"), "--steps", "2", "--objective", "flow", "--t-sampling", "logit-normal"));
        assertEquals(0, u.exit(), u.err());
        assertEquals(0, ln.exit(), ln.err());
        Map<?, ?> a = (Map<?, ?>) ((Map<?, ?>) PtReader.load(tmp.resolve("ln/checkpoints/0000002.pt"))).get("args");
        assertEquals("logit-normal", a.get("flow_time_sampling"));
        Map<?, ?> b = (Map<?, ?>) ((Map<?, ?>) PtReader.load(tmp.resolve("u/checkpoints/0000002.pt"))).get("args");
        assertEquals("uniform", b.get("flow_time_sampling"));
        assertNotEquals(java.nio.file.Files.readAllLines(tmp.resolve("u/log.jsonl")).get(0), java.nio.file.Files.readAllLines(tmp.resolve("ln/log.jsonl")).get(0));
    }
}
