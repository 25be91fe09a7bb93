package dit4j;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Paths of committed test fixtures (see docs/test-vectors.md for the scripts that make them). */
public final class TestFiles {
    private TestFiles() {}

    public static Path vectors(String name) {
        return resource("vectors/" + name);
    }

    public static Path resource(String relative) {
        try {
            return Paths.get(TestFiles.class.getClassLoader().getResource(relative).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("missing test resource " + relative, e);
        }
    }
}
