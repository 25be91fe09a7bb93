package dit4j.sample;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Class names: those a training run recorded, or ImageNet's 1000 for the official models. */
public final class ClassNames {
    private ClassNames() {}

    private static List<String> imagenet;

    /** The 1000 ImageNet-1k class names, index = label (the order the official DiT models use). */
    public static synchronized List<String> imagenet() {
        if (imagenet == null) {
            List<String> names = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(
                    ClassNames.class.getResourceAsStream("/dit4j/imagenet-classes.txt"), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) if (!line.isBlank()) names.add(line.trim());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (names.size() != 1000) throw new IllegalStateException("imagenet-classes.txt has " + names.size() + " names, expected 1000");
            imagenet = List.copyOf(names);
        }
        return imagenet;
    }

    /**
     * A label from an id or a name (case and '_'/' ' insensitive).
     *
     * @throws IllegalArgumentException naming the input when it is out of range, unknown or ambiguous
     */
    public static long parse(String s, List<String> names, int numClasses) {
        String t = s.trim();
        try {
            long v = Long.parseLong(t);
            if (v < 0 || v >= numClasses) throw new IllegalArgumentException("class " + v + " is outside [0, " + numClasses + ")");
            return v;
        } catch (NumberFormatException e) {
            if (names == null) throw new IllegalArgumentException("'" + t + "' is not a class id, and this model has no class names");
            String key = normalize(t);
            List<Integer> hits = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) if (normalize(names.get(i)).equals(key)) hits.add(i);
            if (hits.isEmpty()) throw new IllegalArgumentException("'" + t + "' is neither a class id nor a class name of this model");
            if (hits.size() > 1) throw new IllegalArgumentException("'" + t + "' names classes " + hits + ": give the id");
            return hits.get(0);
        }
    }

    private static String normalize(String s) {
        return s.toLowerCase(Locale.ROOT).replace('_', ' ').trim();
    }
}
