package dit4j;

import dit4j.runtime.Threads;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Applies the runtime's thread policy before any test touches libtorch (registered through ServiceLoader). */
public final class TorchSetup implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        Threads.configureDefault();
    }
}
