package dit4j.dist;

/** A collective or the rendezvous failed: a rank was lost, timed out, or the replicas diverged. */
public final class DistributedException extends RuntimeException {
    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
