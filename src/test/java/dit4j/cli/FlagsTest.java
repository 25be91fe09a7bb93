package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** One flag vocabulary across the commands, old spellings still accepted, exit codes as `dit --help` says. */
class FlagsTest {
    @TempDir
    Path tmp;

    static final List<String> COMMANDS = List.of("demo", "train", "sample", "extract-features", "download", "plot", "bench", "info", "verify");

    @Test
    void noCommandShowsAnOldSpelling() {
        Pattern flag = Pattern.compile("--[a-z0-9][a-z0-9-]*");
        for (String c : COMMANDS) {
            String help = Cli.run(c, "--help").out();
            Matcher m = flag.matcher(help.replaceAll("`[^`]*`", ""));
            while (m.find()) {
                String f = m.group();
                assertFalse(List.of("--dtype", "--heads", "--batch", "--data", "--latent-size").contains(f), "dit " + c + " --help shows " + f);
            }
        }
    }

    @Test
    void aSharedOptionHasTheSameDescriptionEverywhere() {
        Map<String, String> seen = new HashMap<>();
        Map<String, String> where = new HashMap<>();
        CommandLine root = new CommandLine(new Main());
        for (String c : List.of("train", "sample", "bench", "info", "verify", "extract-features", "demo")) {
            for (CommandLine.Model.OptionSpec o : root.getSubcommands().get(c).getCommandSpec().options()) {
                String name = o.longestName();
                if (!List.of("--precision", "--vae", "--vae-config", "--device", "--raw-weights", "--num-heads", "--model", "--input-size").contains(name)) continue;
                String d = String.join(" ", o.description());
                if (seen.containsKey(name) && !name.equals("--num-heads")) {
                    assertEquals(seen.get(name), d, name + " differs between dit " + where.get(name) + " and dit " + c);
                }
                seen.putIfAbsent(name, d);
                where.putIfAbsent(name, c);
            }
        }
        assertTrue(seen.keySet().containsAll(List.of("--precision", "--vae", "--device", "--raw-weights")), seen.keySet().toString());
    }

    @Test
    void oldSpellingsStillWork() {
        // bench --batch is --batch-size: 0 is refused under the new name.
        Cli.Result r = Cli.run("bench", "--batch", "0");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--batch-size must be positive"), r.err());
        r = Cli.run("bench", "--dtype", "float16");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--precision"), r.err());
        r = Cli.run("info", "--model", "DiT-S/2", "--heads", "3", "--latent-size", "16", "--json");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("\"num_heads\":3") && r.out().contains("\"input_size\":16"), r.out());
    }

    @Test
    void badValuesExitTwoWithOneLine() throws Exception {
        Path data = TinyData.idx(tmp.resolve("d"), 16, 8, 4, 4);
        String[][] bad = {
            {"train", "--data-path", data.toString(), "--steps", "-1"},
            {"train", "--data-path", data.toString(), "--ckpt-every", "0"},
            {"train", "--data-path", data.toString(), "--log-every", "0"},
            {"train", "--data-path", data.toString(), "--lr", "NaN"},
            {"train", "--data-path", data.toString(), "--lr", "nan"},
            {"train", "--data-path", data.toString(), "--diffusion-steps", "2000000000"},
            {"train", "--data-path", data.toString(), "--image-size", "100000"},
            {"train", "--data-path", data.toString(), "--device", "cuda"},
            {"train", "--data-path", data.toString(), "--depth", "1", "--hidden-size", "32", "--num-heads", "2", "--patch", "3", "--global-batch-size", "8"},
            {"bench", "--seconds", "0"},
            {"bench", "--device", "cuda:1", "--seconds", "1"},
            {"info", "--image-size", "25"},
        };
        for (String[] args : bad) {
            Cli.Result r = Cli.run(args);
            String what = String.join(" ", args);
            assertEquals(2, r.exit(), what + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), what + " should fail in one line: " + r.err());
            assertTrue(r.err().contains("--help"), r.err());
        }
        assertFalse(Files.exists(tmp.resolve("results")), "no run folder for a run that cannot start");
    }

    @Test
    void cudaOnThisCpuBuildSaysHowToGetIt() throws Exception {
        Path data = TinyData.idx(tmp.resolve("d"), 16, 8, 4, 4);
        for (String[] args : new String[][] {{"train", "--data-path", data.toString(), "--device", "cuda"}, {"bench", "--mode", "sample", "--device", "cuda:0"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains("CPU natives") && r.err().contains("mvn -Pcuda package"), r.err());
        }
    }

    @Test
    void aCustomPatchIsCheckedAgainstTheRealSize() {
        // --patch 5 on 25 px: the default --model's patch 2 must not get in the way.
        Cli.Result r = Cli.run("info", "--input-size", "25", "--patch", "5", "--json");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("\"patch_size\":5"), r.out());
    }
}
