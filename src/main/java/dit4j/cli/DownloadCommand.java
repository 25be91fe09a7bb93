package dit4j.cli;

import dit4j.io.Catalog;
import dit4j.io.Downloader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code dit download}: official checkpoints and VAEs into a local cache. */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Fetch official DiT checkpoints, the Stable Diffusion VAE and the FID Inception weights into a cache folder: resumable (run again after an",
                "interruption), with a progress bar and size and checksum checks. Prints the folder; `--list` shows what is known."})
public final class DownloadCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", description = "Items to fetch, e.g. DiT-XL-2-256 sd-vae-ft-ema.")
    java.util.List<String> names = new java.util.ArrayList<>();

    @Option(names = "--cache", description = "Cache folder (default ~/.cache/dit4j or $DIT_CACHE).")
    Path cache;

    @Option(names = "--base-url", description = "Fetch from this mirror instead: BASE/NAME/FILE.")
    String baseUrl;

    @Option(names = "--list", description = "List the known items.")
    boolean list;

    public static Path defaultCache() {
        String env = System.getenv("DIT_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "dit4j");
    }

    @Override
    public Integer call() throws Exception {
        if (list || names.isEmpty()) {
            Catalog.ITEMS.values().forEach(i -> System.out.printf("%-14s %s%n", i.name(), i.description()));
            return 0;
        }
        Path root = cache != null ? cache : defaultCache();
        Downloader d = new Downloader();
        for (String name : names) {
            Catalog.Item item = Catalog.get(name, baseUrl);
            Path dir = root.resolve(item.name());
            for (Catalog.Entry e : item.files()) {
                try (Progress bar = new Progress(e.fileName(), 1)) {
                    d.fetch(e.source(), dir.resolve(e.fileName()), (done, total) -> {
                        if (total > 0) bar.maxHint(total);
                        bar.stepTo(done, null);
                    });
                }
            }
            System.out.println(dir);
        }
        return 0;
    }
}
