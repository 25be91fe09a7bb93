package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.io.Safetensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dit verify} builds the diffusion from the file's metadata. */
class VerifyCliTest {
    @TempDir
    Path tmp;

    @Test
    void anOfficialKlFilePassesAndFailsWhenItsFlagIsDropped() throws Exception {
        Path ckpt = TestFiles.resource("official/kl_learned_linear_p2.state_dict.pt");
        Path vectors = TestFiles.resource("official/kl_learned_linear_p2.vectors.safetensors");
        Cli.Result ok = Cli.run("verify", "--checkpoint", ckpt.toString(), "--vectors", vectors.toString());
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        assertTrue(ok.out().contains("PASS") && ok.out().contains("ddpm.sample"), ok.out());

        Safetensors.Contents v = Safetensors.read(vectors);
        Map<String, String> meta = new LinkedHashMap<>(v.metadata());
        meta.remove("use_kl"); // now read as MSE + VB
        Path edited = tmp.resolve("no_kl.vectors.safetensors");
        Safetensors.write(edited, v.tensors(), meta);
        Cli.Result bad = Cli.run("verify", "--checkpoint", ckpt.toString(), "--vectors", edited.toString());
        assertEquals(1, bad.exit(), bad.out() + bad.err());
        assertTrue(bad.out().contains("FAIL loss.loss"), bad.out());

        meta.put("use_kl", "maybe");
        Safetensors.write(edited, v.tensors(), meta);
        Cli.Result malformed = Cli.run("verify", "--checkpoint", ckpt.toString(), "--vectors", edited.toString());
        assertTrue(malformed.exit() != 0);
        assertTrue(malformed.err().contains("'use_kl'") || malformed.out().contains("'use_kl'"), malformed.out() + malformed.err());
    }
}
