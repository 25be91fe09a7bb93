package dit4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TinyCheckpoint;
import dit4j.io.Images;
import dit4j.sample.Generator;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** dit serve's HTTP API over loopback, on a tiny checkpoint. */
@Timeout(300)
class ServerTest {
    static Generator generator;
    static Server server;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        generator = Generator.open(TinyCheckpoint.get(), null, null, new Generator.Limits(8, 16));
        server = Server.start(generator, new Server.Config("127.0.0.1", 0, 4, 1000, 64));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (generator != null) generator.close();
    }

    static URI uri(String path) {
        return URI.create(server.url() + path);
    }

    static HttpResponse<byte[]> post(String path, String body, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (accept != null) b.header("Accept", accept);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    static byte[] pixels(byte[] png) throws Exception {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        return ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    }

    @Test
    void healthModelAndMetrics() throws Exception {
        assertEquals(200, get("/healthz").statusCode());
        JsonNode m = JSON.readTree(get("/v1/model").body());
        assertEquals(10, m.get("num_classes").asInt());
        assertTrue(m.get("defaults").has("steps") && m.get("defaults").has("cfg_scale"), m.toString());
        assertEquals(2, m.get("config").get("depth").asInt(), m.toString());
        post("/v1/generate", "{\"class\": 1, \"steps\": 2}", null);
        HttpResponse<String> metrics = get("/metrics");
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        for (String s : new String[] {"dit4j_queue_depth ", "dit4j_jobs_total{outcome=\"done\"} ", "dit4j_images_generated_total ", "dit4j_step_seconds_bucket{le=\"+Inf\"} ", "dit4j_step_seconds_count "}) {
            assertTrue(metrics.body().contains(s), s + " in " + metrics.body());
        }
        assertEquals(200, get("/").statusCode());
    }

    @Test
    void oneImageIsAPngWithItsParametersAndTheSameAsDitSample() throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", "{\"class\": \"3\", \"steps\": 5, \"sampler\": \"ddim\", \"cfg_scale\": 2.5, \"seed\": 9}", null);
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
        Path served = tmp.resolve("served.png");
        Files.write(served, r.body());
        Map<String, String> text = Images.readPngText(served);
        assertEquals("3", text.get("dit4j.label"));
        assertTrue(text.get("parameters").contains("\"seed\":9") && text.get("parameters").contains("\"cfg_scale\":2.5"), text.toString());

        Path out = tmp.resolve("sample");
        int code = dit4j.cli.Main.run("sample", "--checkpoint", TinyCheckpoint.get().toString(), "--labels", "3", "--steps", "5",
                "--sampler", "ddim", "--cfg-scale", "2.5", "--seed", "9", "--out", out.toString());
        assertEquals(0, code);
        assertArrayEquals(pixels(Files.readAllBytes(out.resolve("images/000000.png"))), pixels(r.body()), "served image differs from dit sample's");
        assertEquals(Images.readPngText(out.resolve("images/000000.png")).get("parameters"), text.get("parameters"));
    }

    @Test
    void jsonCarriesEveryImageInBase64() throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", "{\"class\": [1, 2], \"count\": 3, \"steps\": 3}", null);
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode j = json(r);
        assertEquals(3, j.get("images").size());
        assertEquals(2, j.get("images").get(1).get("label").asInt());
        assertEquals(1, j.get("images").get(2).get("label").asInt());
        assertTrue(pixels(Base64.getDecoder().decode(j.get("images").get(0).get("png").asText())).length == 64);
        assertEquals("3", j.get("parameters").get("steps").asText());
        // One image as JSON when asked.
        HttpResponse<byte[]> one = post("/v1/generate", "{\"class\": 1, \"steps\": 2}", "application/json");
        assertEquals(1, json(one).get("images").size());
    }

    @Test
    void badValuesAre400sNamingTheField() throws Exception {
        String[][] cases = {
            {"{\"class\": 1,", "body"},
            {"[1]", "body"},
            {"{\"steps\": 3}", "class"},
            {"{\"class\": \"zebra\"}", "class"},
            {"{\"class\": 10}", "class"},
            {"{\"class\": 1, \"count\": 0}", "count"},
            {"{\"class\": 1, \"count\": 5}", "count"},
            {"{\"class\": 1, \"count\": 1.5}", "count"},
            {"{\"class\": 1, \"steps\": 0}", "steps"},
            {"{\"class\": 1, \"steps\": 1001}", "steps"},
            {"{\"class\": 1, \"steps\": \"fast\"}", "steps"},
            {"{\"class\": 1, \"sampler\": \"euler\"}", "sampler"},
            {"{\"class\": 1, \"cfg_scale\": NaN}", "cfg_scale"},
            {"{\"class\": 1, \"cfg_scale\": \"4\"}", "cfg_scale"},
            {"{\"class\": 1, \"cfg_scale\": -1}", "cfg_scale"},
            {"{\"class\": 1, \"seed\": -3}", "seed"},
            {"{\"class\": 1, \"colour\": \"red\"}", "colour"},
        };
        for (String[] c : cases) {
            for (String path : new String[] {"/v1/generate", "/v1/jobs"}) {
                HttpResponse<byte[]> r = post(path, c[0], null);
                assertEquals(400, r.statusCode(), c[0] + " -> " + new String(r.body()));
                JsonNode j = json(r);
                assertEquals(c[1], j.get("field").asText(), c[0] + " -> " + j);
                assertTrue(!j.get("error").asText().contains("\n"), j.toString());
            }
        }
        assertEquals(404, get("/v1/jobs/nope").statusCode());
    }

    @Test
    void jobsStreamProgressAndPreviewsThenTheResult() throws Exception {
        HttpResponse<byte[]> created = post("/v1/jobs", "{\"class\": 4, \"count\": 2, \"steps\": 20, \"seed\": 3}", null);
        assertEquals(202, created.statusCode(), new String(created.body()));
        String id = json(created).get("id").asText();
        HttpResponse<java.io.InputStream> events = http.send(HttpRequest.newBuilder(uri("/v1/jobs/" + id + "/events")).header("Accept", "text/event-stream").timeout(Duration.ofSeconds(120)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals("text/event-stream", events.headers().firstValue("Content-Type").orElse("").split(";")[0]);
        List<String> names = new ArrayList<>();
        JsonNode lastProgress = null, preview = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(events.body(), StandardCharsets.UTF_8))) {
            String event = null;
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("event:")) event = line.substring(6).trim();
                if (line.startsWith("data:")) {
                    names.add(event);
                    JsonNode d = JSON.readTree(line.substring(5).trim());
                    if ("progress".equals(event)) lastProgress = d;
                    if ("preview".equals(event)) preview = d;
                    if ("done".equals(event) || "error".equals(event) || "cancelled".equals(event)) break;
                }
            }
        }
        assertEquals("done", names.get(names.size() - 1), names.toString());
        assertNotNull(lastProgress);
        assertEquals(20, lastProgress.get("total").asInt());
        assertTrue(lastProgress.has("eta_seconds"));
        assertNotNull(preview, names.toString());
        assertEquals(2, preview.get("images").size());
        JsonNode done = JSON.readTree(get("/v1/jobs/" + id).body());
        assertEquals("done", done.get("status").asText());
        assertEquals(2, done.get("images").size());
        HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(uri(done.get("images").get(1).get("href").asText())).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, png.statusCode());
        assertArrayEquals(pixels(Base64.getDecoder().decode(done.get("images").get(1).get("png").asText())), pixels(png.body()));
    }

    @Test
    void deleteCancelsAJob() throws Exception {
        String id = json(post("/v1/jobs", "{\"class\": 4, \"steps\": 1000}", null)).get("id").asText();
        Thread.sleep(300);
        HttpResponse<String> del = http.send(HttpRequest.newBuilder(uri("/v1/jobs/" + id)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, del.statusCode(), del.body());
        String status = "";
        for (int i = 0; i < 100 && !status.equals("cancelled"); i++) {
            Thread.sleep(100);
            status = JSON.readTree(get("/v1/jobs/" + id).body()).get("status").asText();
        }
        assertEquals("cancelled", status);
    }

    @Test
    void aClientThatDisconnectsCancelsItsWork() throws Exception {
        double before = metric("dit4j_jobs_total{outcome=\"cancelled\"}");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            byte[] body = "{\"class\": 5, \"steps\": 1000}".getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            // Close only once the job is being worked on: a close before the request is dispatched
            // is Jetty's to drop, and no job would exist to cancel.
            for (int i = 0; i < 300 && metric("dit4j_queue_depth") + metric("dit4j_batch_images") == 0; i++) Thread.sleep(100);
            Thread.sleep(300);
        }
        double after = before;
        for (int i = 0; i < 100 && after == before; i++) {
            Thread.sleep(100);
            after = metric("dit4j_jobs_total{outcome=\"cancelled\"}");
        }
        assertEquals(before + 1, after);
    }

    static double metric(String name) throws Exception {
        for (String line : get("/metrics").body().split("\n")) if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1));
        throw new AssertionError("no metric " + name);
    }

    @Test
    void underLoadEveryRequestGetsAResultOrA429() throws Exception {
        try (Generator g = Generator.open(TinyCheckpoint.get(), null, null, new Generator.Limits(8, 16));
             Server s = Server.start(g, new Server.Config("127.0.0.1", 0, 4, 1000, 64))) {
            List<CompletableFuture<HttpResponse<byte[]>>> all = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                HttpRequest req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/generate")).timeout(Duration.ofSeconds(240))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"class\": " + (i % 10) + ", \"steps\": 10, \"seed\": " + i + "}")).build();
                all.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray()));
            }
            int ok = 0, busy = 0;
            for (CompletableFuture<HttpResponse<byte[]>> f : all) {
                HttpResponse<byte[]> r = f.get();
                if (r.statusCode() == 200) {
                    ok++;
                    assertEquals(64, pixels(r.body()).length);
                } else {
                    assertEquals(429, r.statusCode(), new String(r.body()));
                    assertTrue(r.headers().firstValue("Retry-After").isPresent());
                    busy++;
                }
            }
            assertEquals(64, ok + busy);
            assertTrue(ok >= 16, ok + " ok, " + busy + " rejected");
            assertEquals(0, g.queueDepth());
        }
    }
}
