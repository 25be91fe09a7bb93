package dit4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Fetches a file over HTTP(S) into place: resumable (a {@code .part} file and a Range request),
 * with a size check and a checksum check where they are known, and an atomic move at the end, so
 * the target either is the complete verified file or does not exist.
 */
public final class Downloader {

    /** Reports bytes received of the total (-1 when unknown). */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (done, total) -> {};

        void onProgress(long done, long total);
    }

    /**
     * @param url where to get it
     * @param expectedSize bytes, or -1 if unknown
     * @param checksum "sha256:HEX" or "md5:HEX", or null if unknown
     */
    public record Source(String url, long expectedSize, String checksum) {}

    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(30))
            .build();

    /** Downloads unless the target already exists; returns the target. */
    public Path fetch(Source src, Path target, Listener listener) throws IOException {
        if (Files.isRegularFile(target)) return target;
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(src.url())).timeout(Duration.ofMinutes(30)).GET();
        if (have > 0) req.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + src.url());
        } catch (IOException e) {
            throw new IOException("cannot fetch " + src.url() + ": " + e.getMessage(), e);
        }
        int code = resp.statusCode();
        boolean append = code == 206 && have > 0;
        if (code != 200 && code != 206) {
            resp.body().close();
            if (code == 416 && have > 0 && src.expectedSize() == have) return finish(src, part, target, have);
            throw new IOException("cannot fetch " + src.url() + ": HTTP " + code);
        }
        if (!append) have = 0;
        long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
        long total = length < 0 ? src.expectedSize() : have + length;
        try (InputStream in = resp.body(); OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            long done = have;
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                done += n;
                listener.onProgress(done, total);
            }
        } catch (IOException e) {
            throw new IOException(target.getFileName() + ": transfer broke off (" + e.getMessage() + "); run again to resume from " + Files.size(part) + " bytes", e);
        }
        return finish(src, part, target, total);
    }

    private static Path finish(Source src, Path part, Path target, long announced) throws IOException {
        long size = Files.size(part);
        long expected = src.expectedSize() >= 0 ? src.expectedSize() : announced;
        if (expected >= 0 && size != expected) {
            if (size > expected) Files.delete(part);
            throw new IOException(target.getFileName() + ": got " + size + " bytes, expected " + expected
                    + (size < expected ? " (incomplete; run again to resume)" : ""));
        }
        if (src.checksum() != null) {
            String actual = digest(part, src.checksum().substring(0, src.checksum().indexOf(':')));
            String want = src.checksum().substring(src.checksum().indexOf(':') + 1).toLowerCase();
            if (!actual.equals(want)) {
                Files.delete(part);
                throw new IOException(target.getFileName() + ": checksum mismatch (" + src.checksum().substring(0, src.checksum().indexOf(':')) + " " + actual + ", expected " + want + "); the partial file was removed");
            }
        }
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    /** Hex digest of a file with "sha256" or "md5". */
    public static String digest(Path file, String algorithm) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : algorithm.equals("md5") ? "MD5" : algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("unknown checksum algorithm " + algorithm);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
