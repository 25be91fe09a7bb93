package dit4j.data;

import dit4j.io.Downloader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * Where Fashion-MNIST is: a given folder, {@code $DIT_FASHION_MNIST}, Debian's
 * {@code dataset-fashion-mnist} package, or the cache (downloading the official files into it).
 */
public final class FashionMnist {
    private FashionMnist() {}

    public static final Path DEBIAN = Path.of("/usr/share/datasets/fashion-mnist");
    private static final String BASE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /** File name, and SHA-256 of its uncompressed bytes (the same for the official and Debian copies). */
    private static final String[][] FILES = {
        {"train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
        {"train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
        {"t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
        {"t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
    };

    /** A folder with the four IDX files, downloading them into {@code cache} if no local copy exists. */
    public static Path locate(Path given, Path cache, Consumer<String> say) throws IOException {
        if (given != null) {
            if (!hasAll(given)) throw new IOException(given + ": no Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, ...) there");
            return given;
        }
        String env = System.getenv("DIT_FASHION_MNIST");
        if (env != null && !env.isBlank() && hasAll(Path.of(env))) return Path.of(env);
        if (hasAll(DEBIAN)) return DEBIAN;
        if (hasAll(cache)) return cache;
        say.accept("Fashion-MNIST not found in " + DEBIAN + " (apt-get install dataset-fashion-mnist); downloading the official files into " + cache);
        Downloader d = new Downloader();
        for (String[] f : FILES) {
            say.accept("  " + BASE + f[0]);
            Path gz = d.fetch(new Downloader.Source(BASE + f[0], -1, null), cache.resolve(f[0]), Downloader.Listener.NONE);
            String sha = uncompressedSha256(gz);
            if (!sha.equals(f[1])) {
                Files.delete(gz);
                throw new IOException(gz + ": content checksum " + sha + " does not match Fashion-MNIST's " + f[1] + "; removed it");
            }
        }
        return cache;
    }

    static boolean hasAll(Path dir) {
        for (String[] f : FILES) if (!Files.isRegularFile(dir.resolve(f[0]))) return false;
        return true;
    }

    static String uncompressedSha256(Path gz) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
