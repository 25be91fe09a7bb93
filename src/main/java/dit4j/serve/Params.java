package dit4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.OptionException;
import dit4j.sample.ClassNames;
import dit4j.sample.Generation;
import dit4j.sample.Generator;
import dit4j.sample.SampleModel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A generation request's JSON body, checked field by field: {@code class} (an id or a class
 * name, or a list of them), {@code count}, {@code steps}, {@code sampler}, {@code cfg_scale},
 * {@code cfg_channels}, {@code seed}. Unset fields take the checkpoint's sampling defaults.
 */
record Params(Generator.Request request, long[] labels, Generation.Options options) {

    static final Set<String> FIELDS = Set.of("class", "count", "steps", "sampler", "cfg_scale", "cfg_channels", "seed");

    /** Per-request bounds. */
    record Limits(int maxCount, int maxSteps) {}

    // NaN and Infinity parse, so that they are reported as the field's bad value rather than as bad JSON.
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    static Params parse(String body, SampleModel m, Generation.Options defaults, Limits limits) {
        JsonNode root;
        try {
            root = JSON.readTree(body == null || body.isBlank() ? "{}" : body);
        } catch (Exception e) {
            throw new FieldError("body", "malformed JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) throw new FieldError("body", "expected a JSON object");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new FieldError(f, "unknown field; expected one of " + new java.util.TreeSet<>(FIELDS));
        }
        Generator.Request r = new Generator.Request();
        JsonNode cls = root.get("class");
        if (cls == null || cls.isNull()) throw new FieldError("class", "required: a class id or name");
        List<String> classes = new ArrayList<>();
        if (cls.isArray()) {
            for (JsonNode c : cls) classes.add(classValue(c));
            if (classes.isEmpty()) throw new FieldError("class", "an empty list");
        } else {
            classes.add(classValue(cls));
        }
        long[] given = new long[classes.size()];
        for (int i = 0; i < given.length; i++) {
            try {
                given[i] = ClassNames.parse(classes.get(i), m.classNames(), m.numClasses());
            } catch (IllegalArgumentException e) {
                throw new FieldError("class", e.getMessage());
            }
        }
        r.labels(given);
        int count = (int) integer(root, "count", 1, limits.maxCount(), 1);
        r.count(count);
        if (root.has("steps")) {
            JsonNode s = root.get("steps");
            String steps = s.isIntegralNumber() ? s.asText() : s.isTextual() ? s.asText().trim() : null;
            if (steps == null || steps.isEmpty()) throw new FieldError("steps", "expected a number of steps (e.g. 50) or a respacing such as ddim50");
            int n = totalSteps(steps);
            if (n < 1 || n > limits.maxSteps()) throw new FieldError("steps", "must be in [1, " + limits.maxSteps() + "], got " + steps);
            r.steps(steps);
        }
        if (root.has("sampler")) {
            JsonNode s = root.get("sampler");
            if (!s.isTextual()) throw new FieldError("sampler", "expected a name such as ddpm or ddim");
            r.sampler(s.asText());
        }
        if (root.has("cfg_scale")) {
            JsonNode s = root.get("cfg_scale");
            if (!s.isNumber()) throw new FieldError("cfg_scale", "expected a finite number >= 0 (1 is off), got " + s);
            double v = s.asDouble();
            if (!Double.isFinite(v) || v < 0 || v > 100) throw new FieldError("cfg_scale", "must be a finite number in [0, 100] (1 is off), got " + v);
            r.cfgScale(v);
        }
        if (root.has("cfg_channels")) {
            String s = root.get("cfg_channels").asText();
            try {
                Generation.Options.parseCfgChannels(s);
            } catch (OptionException e) {
                throw new FieldError("cfg_channels", "must be 3 (the official rule), another channel count, or all; got '" + s + "'");
            }
            r.cfgChannels(s);
        }
        if (root.has("seed")) r.seed(integer(root, "seed", 0, Long.MAX_VALUE, 0));
        Generation.Options o;
        try {
            o = r.options(defaults);
        } catch (OptionException e) {
            throw new FieldError(fieldOf(e.getMessage()), e.getMessage());
        }
        // Defaults from the checkpoint are bounded too.
        if (totalSteps(o.steps()) > limits.maxSteps()) throw new FieldError("steps", "must be in [1, " + limits.maxSteps() + "], got " + o.steps() + " (the checkpoint's default): give steps");
        try {
            m.diffusion().create(o.steps());
        } catch (IllegalArgumentException e) {
            throw new FieldError("steps", firstLine(e.getMessage()));
        }
        if (o.cfgScale() != 1.0 && !m.model().config.hasNullClass()) {
            throw new FieldError("cfg_scale", "this model has no null class (trained with class dropout 0), so it cannot use guidance: pass 1");
        }
        return new Params(r, r.labels(m), o);
    }

    private static String classValue(JsonNode c) {
        if (c.isIntegralNumber() || c.isTextual()) return c.asText();
        throw new FieldError("class", "expected a class id or name, got " + c);
    }

    private static long integer(JsonNode root, String field, long min, long max, long fallback) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw new FieldError(field, "expected an integer in [" + min + ", " + max + "], got " + n);
        long v = n.asLong();
        if (v < min || v > max) throw new FieldError(field, "must be in [" + min + ", " + max + "], got " + v);
        return v;
    }

    /** Model evaluations a respacing asks for: "50" -> 50, "ddim50" -> 50, "10,15,20" -> 45. */
    static int totalSteps(String spec) {
        String s = spec.startsWith("ddim") ? spec.substring(4) : spec;
        int total = 0;
        try {
            for (String part : s.split(",")) total += Integer.parseInt(part.trim());
        } catch (NumberFormatException e) {
            throw new FieldError("steps", "expected a number of steps (e.g. 50) or a respacing such as ddim50, got '" + spec + "'");
        }
        return total;
    }

    /** The request field a library message (which names a flag) is about. */
    private static String fieldOf(String message) {
        if (message.contains("--sampler")) return "sampler";
        if (message.contains("--cfg-scale")) return "cfg_scale";
        if (message.contains("--cfg-channels")) return "cfg_channels";
        if (message.contains("--num-sampling-steps")) return "steps";
        if (message.contains("count")) return "count";
        return "body";
    }

    private static String firstLine(String m) {
        if (m == null) return "";
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
