package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a local HTTP server on the loopback interface. */
class DownloaderTest {
    @TempDir
    Path tmp;

    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final List<String> ranges = new CopyOnWriteArrayList<>();
    volatile int breakAfter = -1; // bytes after which the next response is cut off

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::serve);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    private void serve(HttpExchange ex) throws IOException {
        byte[] body = files.get(ex.getRequestURI().getPath());
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        int from = 0;
        if (range != null) {
            ranges.add(range);
            from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
        }
        ex.sendResponseHeaders(range != null ? 206 : 200, body.length - from);
        try (OutputStream out = ex.getResponseBody()) {
            int end = breakAfter >= 0 ? Math.min(body.length, from + breakAfter) : body.length;
            out.write(body, from, end - from);
            if (end < body.length) {
                breakAfter = -1;
                out.flush();
                ex.getHttpContext().getServer().stop(0); // drop the connection mid-transfer
                start();
            }
        }
    }

    static byte[] content(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void fetchesVerifiesAndPlacesAtomically() throws Exception {
        byte[] data = content(200_000);
        files.put("/m/file.bin", data);
        Path target = tmp.resolve("cache/file.bin");
        new Downloader().fetch(new Downloader.Source(base() + "m/file.bin", data.length, "sha256:" + sha256(data)), target, Downloader.Listener.NONE);
        assertArrayEquals(data, Files.readAllBytes(target));
        assertFalse(Files.exists(tmp.resolve("cache/file.bin.part")));
    }

    @Test
    void resumesAPartialDownloadWithARangeRequest() throws Exception {
        byte[] data = content(300_000);
        files.put("/m/big.bin", data);
        Path target = tmp.resolve("big.bin");
        Files.write(tmp.resolve("big.bin.part"), java.util.Arrays.copyOf(data, 120_000));
        new Downloader().fetch(new Downloader.Source(base() + "m/big.bin", data.length, "sha256:" + sha256(data)), target, Downloader.Listener.NONE);
        assertEquals(List.of("bytes=120000-"), ranges);
        assertArrayEquals(data, Files.readAllBytes(target));
    }

    @Test
    void aBrokenTransferLeavesAPartThatTheNextRunCompletes() throws Exception {
        byte[] data = content(500_000);
        files.put("/m/cut.bin", data);
        Path target = tmp.resolve("cut.bin");
        breakAfter = 100_000;
        Downloader.Source src = new Downloader.Source(base() + "m/cut.bin", -1, "sha256:" + sha256(data));
        IOException e = assertThrows(IOException.class, () -> new Downloader().fetch(src, target, Downloader.Listener.NONE));
        assertTrue(e.getMessage().contains("run again"), e.getMessage());
        assertFalse(Files.exists(target));
        long partial = Files.size(tmp.resolve("cut.bin.part"));
        assertTrue(partial > 0 && partial < data.length, "partial " + partial);
        Downloader.Source again = new Downloader.Source(base() + "m/cut.bin", -1, "sha256:" + sha256(data));
        new Downloader().fetch(again, target, Downloader.Listener.NONE);
        assertArrayEquals(data, Files.readAllBytes(target));
    }

    @Test
    void checksumAndSizeMismatchesAreRejected() throws Exception {
        byte[] data = content(10_000);
        files.put("/m/x.bin", data);
        IOException e = assertThrows(IOException.class, () -> new Downloader().fetch(
                new Downloader.Source(base() + "m/x.bin", data.length, "sha256:" + "0".repeat(64)), tmp.resolve("x.bin"), Downloader.Listener.NONE));
        assertTrue(e.getMessage().startsWith("x.bin: checksum mismatch"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("x.bin")) || Files.exists(tmp.resolve("x.bin.part")));
        e = assertThrows(IOException.class, () -> new Downloader().fetch(
                new Downloader.Source(base() + "m/x.bin", 99, null), tmp.resolve("y.bin"), Downloader.Listener.NONE));
        assertTrue(e.getMessage().contains("expected 99"), e.getMessage());
        e = assertThrows(IOException.class, () -> new Downloader().fetch(
                new Downloader.Source(base() + "m/missing.bin", -1, null), tmp.resolve("z.bin"), Downloader.Listener.NONE));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
    }

    @Test
    void downloadCommandFillsTheCacheFromAMirror() throws Exception {
        files.put("/sd-vae-ft-ema/config.json", "{\"block_out_channels\": [8]}".getBytes());
        files.put("/sd-vae-ft-ema/diffusion_pytorch_model.safetensors", content(5000));
        Path cache = tmp.resolve("cache");
        int code = dit4j.cli.Main.run("download", "--cache", cache.toString(), "--base-url", base(), "sd-vae-ft-ema");
        assertEquals(0, code);
        assertArrayEquals(content(5000), Files.readAllBytes(cache.resolve("sd-vae-ft-ema/diffusion_pytorch_model.safetensors")));
        assertTrue(Files.exists(cache.resolve("sd-vae-ft-ema/config.json")));
        assertEquals(1, dit4j.cli.Main.run("download", "--cache", cache.toString(), "no-such-model"));
    }
}
