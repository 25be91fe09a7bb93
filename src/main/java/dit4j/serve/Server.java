package dit4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.OptionException;
import dit4j.sample.Generation;
import dit4j.sample.Generator;
import dit4j.sample.Result;
import dit4j.sample.SampleModel;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code dit serve}: generation over HTTP (Javalin on Jetty). The model work is the
 * {@link Generator}'s; this class maps requests to it: validation to 400s naming the field, a full
 * queue to 429 with Retry-After, jobs with Server-Sent Events of progress and previews, metrics.
 */
public final class Server implements AutoCloseable {

    /**
     * @param maxCount images per request
     * @param maxSteps sampling steps per request
     * @param keepJobs finished jobs kept for {@code GET /v1/jobs/{id}} (oldest dropped first)
     */
    public record Config(String host, int port, int maxCount, int maxSteps, int keepJobs) {
        public Config {
            if (maxCount < 1) throw new OptionException("--max-count must be positive, got " + maxCount);
            if (maxSteps < 1) throw new OptionException("--max-steps must be positive, got " + maxSteps);
            if (keepJobs < 1) throw new OptionException("--keep-jobs must be positive, got " + keepJobs);
            if (port < 0 || port > 65535) throw new OptionException("--port must be in [0, 65535], got " + port);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Generator generator;
    private final SampleModel model;
    private final Config config;
    private final Params.Limits limits;
    private final Metrics metrics;
    private final Map<String, ServedJob> jobs = new LinkedHashMap<>();
    private final Javalin app;

    private Server(Generator generator, Config config) {
        this.generator = generator;
        this.model = generator.model();
        this.config = config;
        this.limits = new Params.Limits(config.maxCount(), config.maxSteps());
        this.metrics = new Metrics(generator::queueDepth, generator::activeImages);
        generator.onBatchStep(metrics::step);
        this.app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = 64 * 1024;
            cfg.staticFiles.add(sf -> {
                sf.hostedPath = "/";
                sf.directory = "/dit4j/serve/web";
                sf.location = Location.CLASSPATH;
            });
        });
        app.exception(FieldError.class, (e, ctx) -> error(ctx, 400, e.getMessage(), e.field));
        app.exception(Generator.QueueFullException.class, (e, ctx) -> {
            metrics.job("rejected");
            ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("error", e.getMessage());
            m.put("retry_after", e.retryAfterSeconds);
            json(ctx.status(429), m);
        });
        app.exception(NotFound.class, (e, ctx) -> error(ctx, 404, e.getMessage(), "id"));
        app.exception(OptionException.class, (e, ctx) -> error(ctx, 400, e.getMessage(), "body"));
        app.exception(Exception.class, (e, ctx) -> error(ctx, 500, e.getMessage() == null ? e.toString() : e.getMessage(), null));
        app.get("/healthz", ctx -> json(ctx, Map.of("status", "ok")));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.text()));
        app.get("/v1/model", ctx -> json(ctx, modelJson()));
        app.post("/v1/generate", this::generate);
        app.post("/v1/jobs", this::createJob);
        app.get("/v1/jobs/{id}", ctx -> json(ctx, job(ctx).json("")));
        app.get("/v1/jobs/{id}/images/{index}", this::jobImage);
        app.delete("/v1/jobs/{id}", ctx -> {
            ServedJob j = job(ctx);
            if (j.job != null) j.job.cancel();
            json(ctx, Map.of("id", j.id, "status", j.finished() ? j.status() : "cancelling"));
        });
        app.sse("/v1/jobs/{id}/events", client -> {
            ServedJob j;
            synchronized (jobs) {
                j = jobs.get(client.ctx().pathParam("id"));
            }
            if (j == null) {
                client.sendEvent("error", "{\"error\":\"no such job\",\"field\":\"id\"}");
                client.close();
                return;
            }
            client.keepAlive();
            j.subscribe(client);
        });
    }

    /** Starts serving; port 0 picks a free one. */
    public static Server start(Generator generator, Config config) {
        Server s = new Server(generator, config);
        s.app.start(config.host(), config.port());
        return s;
    }

    public int port() {
        return app.port();
    }

    public String url() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + h + ":" + port();
    }

    @Override
    public void close() {
        app.stop();
    }

    // ---------------------------------------------------------------- handlers

    private void generate(Context ctx) throws Exception {
        Params p = Params.parse(ctx.body(), model, generator.defaults(), limits);
        Generator.Job job = generator.submit(p.labels(), p.options(), null);
        Result r;
        try {
            r = awaitWhileConnected(ctx, job);
        } catch (CancellationException e) {
            metrics.job("cancelled");
            return;
        } catch (ExecutionException e) {
            metrics.job("failed");
            throw e.getCause() instanceof Exception x ? x : e;
        }
        metrics.job("done");
        metrics.images(r.count());
        String accept = ctx.header("Accept");
        if (r.count() == 1 && (accept == null || !accept.contains("application/json"))) {
            ctx.contentType("image/png").header("Content-Disposition", "inline; filename=\"dit4j-" + r.options().seed() + ".png\"").result(r.png(0));
        } else {
            json(ctx, resultJson(r, null));
        }
    }

    /** Waits for the job; a client that has gone away cancels it. */
    private static Result awaitWhileConnected(Context ctx, Generator.Job job) throws Exception {
        SocketChannel channel = channel(ctx);
        while (true) {
            try {
                return job.future().get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (disconnected(channel)) {
                    job.cancel();
                    throw new CancellationException("client disconnected");
                }
            }
        }
    }

    private static SocketChannel channel(Context ctx) {
        try {
            Object t = org.eclipse.jetty.server.Request.getBaseRequest(ctx.req()).getHttpChannel().getEndPoint().getTransport();
            return t instanceof SocketChannel s ? s : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Jetty does not read the connection while a request is handled, so a client that closed it is
     * only seen by reading: a non-blocking read gives -1 (or an error) once the peer has gone. HTTP
     * pipelining (a next request already sent) would lose a byte; browsers and common clients do
     * not pipeline, and such a client only loses a byte it sent before reading its answer.
     */
    private static boolean disconnected(SocketChannel ch) {
        if (ch == null) return false;
        if (!ch.isOpen()) return true;
        try {
            return ch.read(ByteBuffer.allocate(1)) < 0;
        } catch (IOException e) {
            return true;
        }
    }

    private void createJob(Context ctx) {
        Params p = Params.parse(ctx.body(), model, generator.defaults(), limits);
        ServedJob j = new ServedJob(UUID.randomUUID().toString(), p);
        // Registered first, so that events for the first step find it.
        synchronized (jobs) {
            j.job = generator.submit(p.labels(), p.options(), j);
            jobs.put(j.id, j);
            evict();
        }
        j.job.future().whenComplete((r, e) -> {
            if (e == null) {
                metrics.job("done");
                metrics.images(r.count());
                j.succeeded(r);
            } else {
                metrics.job(Generator.isCancellation(e) ? "cancelled" : "failed");
                j.failed(e);
            }
        });
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", j.id);
        m.put("status", j.status());
        m.put("events", "/v1/jobs/" + j.id + "/events");
        m.put("result", "/v1/jobs/" + j.id);
        ctx.status(202).header("Location", "/v1/jobs/" + j.id);
        json(ctx, m);
    }

    /** Drops the oldest finished jobs beyond {@code keepJobs}; running ones are bounded by the queue. */
    private void evict() {
        int finished = 0;
        for (ServedJob j : jobs.values()) if (j.finished()) finished++;
        for (Iterator<ServedJob> it = jobs.values().iterator(); it.hasNext() && finished > config.keepJobs(); ) {
            if (it.next().finished()) {
                it.remove();
                finished--;
            }
        }
    }

    private ServedJob job(Context ctx) {
        synchronized (jobs) {
            evict();
            ServedJob j = jobs.get(ctx.pathParam("id"));
            if (j == null) throw new NotFound("no such job: " + ctx.pathParam("id"));
            return j;
        }
    }

    private void jobImage(Context ctx) {
        ServedJob j = job(ctx);
        Result r = j.result();
        if (r == null) throw new FieldError("id", "job " + j.id + " is " + j.status() + ", not done");
        String s = ctx.pathParam("index").replaceFirst("\\.png$", "");
        int i;
        try {
            i = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new FieldError("index", "expected an image index, got '" + s + "'");
        }
        if (i < 0 || i >= r.count()) throw new FieldError("index", "must be in [0, " + r.count() + "), got " + i);
        ctx.contentType("image/png").header("Content-Disposition", "attachment; filename=\"dit4j-" + j.id.substring(0, 8) + "-" + i + ".png\"").result(r.png(i));
    }

    private Map<String, Object> modelJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        var c = model.model().config;
        m.put("checkpoint", generator.checkpoint().toString());
        m.put("config", JSON.convertValue(c.toJson(), Map.class));
        m.put("name", c.displayName());
        m.put("latent", model.latent());
        m.put("num_classes", c.numClasses());
        m.put("guidance", c.hasNullClass());
        m.put("class_names", model.classNames());
        Generation.Options d = generator.defaults();
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("sampler", d.sampler());
        defaults.put("steps", d.steps());
        defaults.put("cfg_scale", d.cfgScale());
        defaults.put("cfg_channels", d.cfgChannels() <= 0 ? "all" : Integer.toString(d.cfgChannels()));
        defaults.put("seed", d.seed());
        defaults.put("precision", d.precision().label());
        m.put("defaults", defaults);
        // the samplers this model takes (a flow model refuses the diffusion ones and back)
        m.put("samplers", model.transport() != null ? List.of("ode", "ode-euler", "ode-dopri5", "sde", "dpm++2m", "dpm++3m", "ddpm", "ddim") : List.of("ddpm", "ddim", "dpm++2m", "dpm++3m"));
        m.put("limits", Map.of("max_count", config.maxCount(), "max_steps", config.maxSteps()));
        return m;
    }

    /** Images in base64 with their parameters; {@code href} adds a download link per image. */
    static Map<String, Object> resultJson(Result r, String href) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", r.count());
        m.put("parameters", r.parameters());
        List<Map<String, Object>> images = new ArrayList<>();
        for (int i = 0; i < r.count(); i++) {
            Map<String, Object> im = new LinkedHashMap<>();
            im.put("index", i);
            im.put("label", r.labels()[i]);
            im.put("class_name", r.classNames().get(i));
            im.put("png", Base64.getEncoder().encodeToString(r.png(i)));
            if (href != null) im.put("href", href + "/images/" + i + ".png");
            images.add(im);
        }
        m.put("images", images);
        return m;
    }

    static final class NotFound extends RuntimeException {
        NotFound(String m) {
            super(m);
        }
    }

    private static void error(Context ctx, int status, String message, String field) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        if (field != null) m.put("field", field);
        json(ctx.status(status), m);
    }

    private static void json(Context ctx, Object value) {
        try {
            ctx.contentType("application/json").result(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
