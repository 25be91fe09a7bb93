package dit4j.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.Images;
import dit4j.sample.Generator;
import dit4j.sample.Result;
import io.javalin.http.sse.SseClient;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A request made through {@code POST /v1/jobs}: its progress, previews, result, and who listens for events. */
final class ServedJob implements Generator.Listener {
    private static final ObjectMapper JSON = new ObjectMapper();

    final String id;
    final Params params;
    private final int previewEvery;
    private final long created = System.nanoTime();
    private volatile long firstStep;
    private volatile String status = "queued";
    private volatile int step, total;
    private volatile Result result;
    private volatile String error;
    private volatile Map<String, Object> lastPreview;
    private final List<SseClient> clients = new ArrayList<>();
    Generator.Job job;

    ServedJob(String id, Params params) {
        this.id = id;
        this.params = params;
        this.total = Params.totalSteps(params.options().steps());
        // About ten previews per request, whatever its length.
        this.previewEvery = Math.max(1, total / 10);
    }

    String status() {
        return status;
    }

    boolean finished() {
        return result != null || error != null || status.equals("cancelled");
    }

    @Override
    public int previewEvery() {
        return previewEvery;
    }

    @Override
    public void onStep(int done, int total) {
        if (done == 1) firstStep = System.nanoTime();
        status = "running";
        step = done;
        this.total = total;
        send("progress", progress());
    }

    @Override
    public void onPreview(int done, int total, List<BufferedImage> previews) {
        List<String> pngs = new ArrayList<>();
        for (BufferedImage p : previews) pngs.add(Base64.getEncoder().encodeToString(Images.png(p, null)));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", done);
        m.put("total", total);
        m.put("images", pngs);
        lastPreview = m;
        send("preview", m);
    }

    Map<String, Object> progress() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("total", total);
        double eta = -1;
        if (step > 1) eta = (System.nanoTime() - firstStep) / 1e9 / (step - 1) * (total - step);
        m.put("eta_seconds", eta < 0 ? null : Math.round(eta * 10) / 10.0);
        return m;
    }

    void succeeded(Result r) {
        result = r;
        status = "done";
        finish("done", Map.of("id", id, "status", status));
    }

    void failed(Throwable e) {
        if (Generator.isCancellation(e)) {
            status = "cancelled";
        } else {
            status = "failed";
            error = e.getMessage() == null ? e.toString() : e.getMessage();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", status);
        if (error != null) m.put("error", error);
        finish(status.equals("failed") ? "error" : "cancelled", m);
    }

    /** The job as {@code GET /v1/jobs/{id}} shows it: the images once done. */
    Map<String, Object> json(String base) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", status);
        m.putAll(progress());
        if (error != null) m.put("error", error);
        Result r = result;
        if (r != null) m.putAll(Server.resultJson(r, base + "/v1/jobs/" + id));
        return m;
    }

    Result result() {
        return result;
    }

    synchronized void subscribe(SseClient c) {
        if (!finished()) {
            clients.add(c);
            c.onClose(() -> unsubscribe(c));
        }
        sendTo(c, "progress", progress());
        if (lastPreview != null) sendTo(c, "preview", lastPreview);
        if (finished()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("status", status);
            if (error != null) m.put("error", error);
            sendTo(c, status.equals("done") ? "done" : status.equals("failed") ? "error" : "cancelled", m);
            c.close();
        }
    }

    private synchronized void unsubscribe(SseClient c) {
        clients.remove(c);
    }

    private synchronized void send(String event, Object data) {
        for (SseClient c : new ArrayList<>(clients)) sendTo(c, event, data);
    }

    private synchronized void finish(String event, Object data) {
        for (SseClient c : new ArrayList<>(clients)) {
            sendTo(c, event, data);
            c.close();
        }
        clients.clear();
    }

    private void sendTo(SseClient c, String event, Object data) {
        try {
            if (!c.terminated()) c.sendEvent(event, JSON.writeValueAsString(data));
        } catch (Exception e) {
            clients.remove(c);
        }
    }

    double ageSeconds() {
        return (System.nanoTime() - created) / 1e9;
    }
}
