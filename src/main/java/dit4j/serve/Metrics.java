package dit4j.serve;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** The server's counters in the Prometheus text format (version 0.0.4). */
final class Metrics {
    private static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Map<String, LongAdder> jobs = new ConcurrentHashMap<>();
    private final LongAdder images = new LongAdder();
    private final AtomicLong[] stepBuckets = new AtomicLong[BUCKETS.length];
    private final LongAdder steps = new LongAdder();
    private final LongAdder stepRows = new LongAdder();
    private double stepSeconds;
    private final IntSupplier queueDepth;
    private final IntSupplier activeImages;

    Metrics(IntSupplier queueDepth, IntSupplier activeImages) {
        this.queueDepth = queueDepth;
        this.activeImages = activeImages;
        for (int i = 0; i < BUCKETS.length; i++) stepBuckets[i] = new AtomicLong();
        for (String o : new String[] {"done", "failed", "cancelled", "rejected"}) jobs.put(o, new LongAdder());
    }

    void job(String outcome) {
        jobs.computeIfAbsent(outcome, k -> new LongAdder()).increment();
    }

    void images(int n) {
        images.add(n);
    }

    void step(int rows, double seconds) {
        for (int i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) stepBuckets[i].incrementAndGet();
        steps.increment();
        stepRows.add(rows);
        synchronized (this) {
            stepSeconds += seconds;
        }
    }

    String text() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP dit4j_queue_depth Requests waiting to start.\n# TYPE dit4j_queue_depth gauge\n");
        b.append("dit4j_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        b.append("# HELP dit4j_batch_images Images in the running batch.\n# TYPE dit4j_batch_images gauge\n");
        b.append("dit4j_batch_images ").append(activeImages.getAsInt()).append('\n');
        b.append("# HELP dit4j_jobs_total Requests by outcome (rejected: queue full).\n# TYPE dit4j_jobs_total counter\n");
        for (var e : new java.util.TreeMap<>(jobs).entrySet()) {
            b.append("dit4j_jobs_total{outcome=\"").append(e.getKey()).append("\"} ").append(e.getValue().sum()).append('\n');
        }
        b.append("# HELP dit4j_images_generated_total Images generated.\n# TYPE dit4j_images_generated_total counter\n");
        b.append("dit4j_images_generated_total ").append(images.sum()).append('\n');
        b.append("# HELP dit4j_step_images_total Images summed over denoising steps (divide by the step count for the mean batch).\n# TYPE dit4j_step_images_total counter\n");
        b.append("dit4j_step_images_total ").append(stepRows.sum()).append('\n');
        b.append("# HELP dit4j_step_seconds Latency of one batched denoising step.\n# TYPE dit4j_step_seconds histogram\n");
        for (int i = 0; i < BUCKETS.length; i++) {
            b.append("dit4j_step_seconds_bucket{le=\"").append(fmt(BUCKETS[i])).append("\"} ").append(stepBuckets[i].get()).append('\n');
        }
        b.append("dit4j_step_seconds_bucket{le=\"+Inf\"} ").append(steps.sum()).append('\n');
        synchronized (this) {
            b.append("dit4j_step_seconds_sum ").append(String.format(Locale.ROOT, "%.6f", stepSeconds)).append('\n');
        }
        b.append("dit4j_step_seconds_count ").append(steps.sum()).append('\n');
        return b.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.1f", v) : Double.toString(v);
    }
}
