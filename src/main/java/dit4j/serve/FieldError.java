package dit4j.serve;

/** A request value out of range or malformed: answered 400 with {"error": message, "field": field}. */
public final class FieldError extends RuntimeException {
    public final String field;

    public FieldError(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }
}
