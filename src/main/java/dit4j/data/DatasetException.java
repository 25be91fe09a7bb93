package dit4j.data;

import java.io.IOException;

/** A dataset that cannot be used; the message is one line that starts with the file or folder and says what was wrong. */
public class DatasetException extends IOException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
