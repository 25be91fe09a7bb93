package dit4j.io;

import java.io.IOException;

/** A checkpoint or tensor file that cannot be used; the message is one line naming the file and what was wrong. */
public class CheckpointException extends IOException {
    public CheckpointException(String message) {
        super(message);
    }
}
