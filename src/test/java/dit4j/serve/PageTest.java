package dit4j.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dit4j.TinyCheckpoint;
import dit4j.sample.Generator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The web page in headless Chromium: it loads the model, generates from a link and shows the result in the gallery. */
@Timeout(240)
class PageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    Path tmp;

    @Test
    void thePageGeneratesAndShowsTheImageInTheGallery() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "skipped: /usr/bin/chromium is absent (apt-get install -y chromium)");
        try (Generator g = Generator.open(TinyCheckpoint.get(), null, null, new Generator.Limits(8, 16));
             Server s = Server.start(g, new Server.Config("127.0.0.1", 0, 4, 1000, 16))) {
            String dom = dump(s.url() + "/?class=3&steps=5&seed=2&count=2&go=1");
            assertTrue(dom.contains("<option value=\"3\">3: "), "the class list is missing: " + dom);
            assertTrue(dom.contains("<figure>") && dom.contains("download") && dom.contains("seed 2"), "no image in the gallery: " + dom);
            assertTrue(dom.contains("done: 2 images"), dom);
            // A bad value is shown, with the field.
            String bad = dump(s.url() + "/?class=3&steps=5000&go=1");
            assertTrue(bad.contains("Bad value: steps: must be in [1, 1000]"), bad);
        }
    }

    /** The DOM after the page's scripts ran for a while (virtual time). */
    private String dump(String url) throws Exception {
        Path out = tmp.resolve("dom.html");
        Process p = new ProcessBuilder(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + tmp.resolve("profile"), "--virtual-time-budget=20000", "--dump-dom", url))
                .redirectOutput(out.toFile()).redirectError(tmp.resolve("chromium.log").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish: " + Files.readString(tmp.resolve("chromium.log")));
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }
}
