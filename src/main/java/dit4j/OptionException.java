package dit4j;

/**
 * A value the caller chose (a flag, a request field) is out of range or malformed. The message
 * names the option and what was expected; the command line exits 2 on it, the server answers 400.
 */
public final class OptionException extends IllegalArgumentException {
    public OptionException(String message) {
        super(message);
    }
}
