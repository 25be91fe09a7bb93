package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.model.DiTConfig;
import dit4j.runtime.Tensors;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debian's PyTorch (/usr/bin/python3 with python3-torch, as CI installs it) reads what PtWriter and TrainState.save write. */
class PtWriterPythonTest {
    static final String PYTHON = "/usr/bin/python3";

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsTorch() throws Exception {
        boolean ok = Files.isExecutable(Path.of(PYTHON)) && python("import torch").exit == 0;
        Assumptions.assumeTrue(ok, PYTHON + " cannot import torch (install python3-torch): skipping the PyTorch round trip");
    }

    record Result(int exit, String out) {}

    static Result python(String code, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(PYTHON, "-c", code));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("python timed out: " + out);
        }
        return new Result(p.exitValue(), out);
    }

    private static JsonNode lastJsonLine(Result r) throws IOException {
        assertEquals(0, r.exit, r.out);
        String[] lines = r.out.strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    private static void sameValues(Tensor want, JsonNode got, String what) {
        double[] w = Tensors.toDoubles(want.flatten(0, -1));
        assertEquals(w.length, got.size(), what);
        for (int i = 0; i < w.length; i++) assertEquals(w[i], got.get(i).asDouble(), 0, what + "[" + i + "]");
    }

    @Test
    void aStateDictLoadsWithWeightsOnly() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("w", torch.randn(3, 4));
        sd.put("steps", Tensors.longs(7, -2, 1L << 40));
        sd.put("d", torch.randn(2).to(torch.ScalarType.Double));
        sd.put("scalar", Tensors.floats(new float[] {0.5f})); // 0-dim, like AdamW's step
        Path f = tmp.resolve("sd.pt");
        PtWriter.save(f, PtWriter.ordered(sd));
        JsonNode j = lastJsonLine(python(String.join("\n",
                "import json, sys, collections, torch",
                "sd = torch.load(sys.argv[1], weights_only=True)",
                "assert isinstance(sd, collections.OrderedDict), type(sd)",
                "print(json.dumps({'keys': list(sd), 'dtypes': [str(v.dtype) for v in sd.values()],",
                "                  'shapes': [list(v.shape) for v in sd.values()],",
                "                  'values': {k: v.flatten().tolist() for k, v in sd.items()}}))"), f.toString()));
        assertEquals("[\"w\",\"steps\",\"d\",\"scalar\"]", j.get("keys").toString());
        assertEquals("[\"torch.float32\",\"torch.int64\",\"torch.float64\",\"torch.float32\"]", j.get("dtypes").toString());
        assertEquals("[[3,4],[3],[2],[]]", j.get("shapes").toString());
        for (String k : sd.keySet()) sameValues(sd.get(k), j.get("values").get(k), k);
    }

    @Test
    void aTrainingCheckpointLoads() throws Exception {
        TrainOptions o = new TrainOptions();
        o.model = "custom";
        DiTConfig config = new DiTConfig(8, 2, 1, 16, 1, 2, 2.0, 0.1, 3, true);
        TrainState s = TrainState.fresh(config, o, 0, 1);
        s.step = 5;
        Path f = tmp.resolve("0000005.pt");
        s.save(f, o);
        String key = "blocks.0.attn.qkv.weight";
        JsonNode j = lastJsonLine(python(String.join("\n",
                "import json, sys, torch",
                "ck = torch.load(sys.argv[1])",
                "k = sys.argv[2]",
                "print(json.dumps({'top': sorted(ck), 'model': ck['model'][k].flatten().tolist(), 'ema': ck['ema'][k].flatten().tolist(),",
                "                  'lr': ck['opt']['param_groups'][0]['lr'], 'model_name': ck['args']['model'],",
                "                  'step': ck['train_state']['step'], 'n_params': len(ck['model'])}))"), f.toString(), key));
        assertEquals("[\"args\",\"ema\",\"model\",\"opt\",\"train_state\"]", j.get("top").toString());
        Map<String, Tensor> model = StateDicts.of(s.model), ema = StateDicts.of(s.ema);
        sameValues(model.get(key), j.get("model"), "model " + key);
        sameValues(ema.get(key), j.get("ema"), "ema " + key);
        assertEquals(o.lr, j.get("lr").asDouble(), 0);
        assertEquals("custom", j.get("model_name").asText());
        assertEquals(5, j.get("step").asInt());
        assertEquals(model.size(), j.get("n_params").asInt());
        assertTrue(model.size() > 10);
    }
}
