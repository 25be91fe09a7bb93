package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyCheckpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** dit serve as a user runs it: a process on loopback that answers, and flags checked. */
@Timeout(180)
class ServeCliTest {
    @TempDir
    Path tmp;

    @Test
    void serveListensOnLoopbackAndAnswers() throws Exception {
        Path log = tmp.resolve("serve.log");
        Process p = Cli.spawn(log, "serve", "--checkpoint", TinyCheckpoint.get().toString(), "--port", "0", "--precision", "float32");
        try {
            Matcher m = null;
            for (int i = 0; i < 600 && p.isAlive(); i++) {
                m = Pattern.compile("at (http://127\\.0\\.0\\.1:\\d+)/").matcher(Files.readString(log));
                if (m.find()) break;
                m = null;
                Thread.sleep(100);
            }
            assertTrue(m != null, Files.readString(log));
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(m.group(1) + "/v1/model")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"precision\":\"float32\""), r.body());
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    @Test
    void badFlagsAreUsageErrors() throws Exception {
        Cli.Result r = Cli.run("serve", "--checkpoint", TinyCheckpoint.get().toString(), "--max-batch", "0");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--max-batch must be positive"), r.err());
        Cli.Result q = Cli.run("serve", "--checkpoint", TinyCheckpoint.get().toString(), "--max-count", "0");
        assertEquals(2, q.exit(), q.err());
        assertTrue(q.err().contains("--max-count must be positive"), q.err());
    }
}
