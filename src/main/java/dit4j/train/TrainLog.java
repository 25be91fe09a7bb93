package dit4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Reading a run's JSONL log ({@code log.jsonl}, written by {@link Trainer}). */
public final class TrainLog {
    private TrainLog() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** (step, loss) pairs of a run's log, for plots. */
    public static List<double[]> readLoss(Path log) throws IOException {
        // Only loss records; a NaN loss is logged as "NaN" and reads back as NaN.
        return read(log, n -> n.has("step") && n.has("loss") && !n.has("type"), "loss");
    }

    /** (step, value) pairs of one field of the evaluation records ({@code "type": "eval"}, see {@link TrainEval}). */
    public static List<double[]> readEval(Path log, String field) throws IOException {
        return read(log, n -> n.path("type").asText().equals("eval") && n.has(field), field);
    }

    /** (step, field) of the records {@code keep} accepts; torn lines are skipped. */
    private static List<double[]> read(Path log, Predicate<JsonNode> keep, String field) throws IOException {
        List<double[]> out = new ArrayList<>();
        if (!Files.exists(log)) return out;
        for (String line : Files.readAllLines(log)) {
            if (line.isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(line);
                if (keep.test(n)) out.add(new double[] {n.path("step").asDouble(), n.path(field).asDouble(Double.NaN)});
            } catch (IOException e) {
                // skip a torn line
            }
        }
        return out;
    }
}
