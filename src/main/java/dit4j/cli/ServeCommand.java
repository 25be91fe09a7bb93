package dit4j.cli;

import dit4j.sample.Generator;
import dit4j.serve.Server;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit serve}: an HTTP API and a web page for generation from one checkpoint. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve generation over HTTP: POST /v1/generate, jobs with progress events (/v1/jobs), /v1/model, /healthz, /metrics,",
                "and a web page at /. Concurrent requests with the same sampler settings share model calls (up to --max-batch images).",
                "Sampler defaults come from the checkpoint's training run when it recorded them, else from the official sample.py."})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "CKPT", description = "The checkpoint.")
    Path checkpoint;

    @Mixin
    VaeOptions vae = new VaeOptions();

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--max-batch", defaultValue = "16", paramLabel = "N", description = "Images denoised in one model call (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "64", paramLabel = "N", description = "Requests waiting to start; more get 429 (default ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--max-count", defaultValue = "16", paramLabel = "N", description = "Images per request (default ${DEFAULT-VALUE}).")
    int maxCount;

    @Option(names = "--max-steps", defaultValue = "1000", paramLabel = "N", description = "Sampling steps per request (default ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(names = "--keep-jobs", defaultValue = "256", paramLabel = "N", description = "Finished jobs kept for GET /v1/jobs/ID (default ${DEFAULT-VALUE}).")
    int keepJobs;

    @Override
    public Integer call() throws Exception {
        Server.Config config = new Server.Config(host, port, maxCount, maxSteps, keepJobs);
        dit4j.runtime.Precision p = precision.orElse(dit4j.runtime.Precision.FLOAT32);
        if (maxCount > maxBatch) System.err.printf("dit serve: note: --max-count %d > --max-batch %d: larger requests run in batches of their own%n", maxCount, maxBatch);
        try (Generator g = Generator.open(checkpoint, vae.vae, vae.vaeConfig, new Generator.Limits(maxBatch, maxQueue)).precision(p);
             Server s = Server.start(g, config)) {
            System.out.printf("serving %s (%s) at %s/%n", checkpoint.getFileName(), g.model().model().config.displayName(), s.url());
            System.out.flush();
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            stop.await();
        }
        return 0;
    }
}
