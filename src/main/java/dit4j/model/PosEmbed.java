package dit4j.model;

/**
 * The fixed 2-D sin-cos position embedding of MAE, computed in double precision.
 *
 * <p>For a grid of side g and width D, token (row i, column j) gets
 * {@code [sin(j w), cos(j w), sin(i w), cos(i w)]} with {@code w_k = 1 / 10000^(k / (D/4))}:
 * the first half of the dimensions encodes the column, the second half the row.
 */
public final class PosEmbed {
    private PosEmbed() {}

    /** A row-major (g*g, D) table, cast to float as the official code does. */
    public static float[] sincos2d(int dim, int gridSize) {
        int quarter = dim / 4;
        double[] omega = new double[quarter];
        for (int k = 0; k < quarter; k++) {
            omega[k] = 1.0 / Math.pow(10000, k / (dim / 4.0));
        }
        float[] out = new float[gridSize * gridSize * dim];
        for (int i = 0; i < gridSize; i++) {
            for (int j = 0; j < gridSize; j++) {
                int base = (i * gridSize + j) * dim;
                for (int k = 0; k < quarter; k++) {
                    double col = j * omega[k], row = i * omega[k];
                    out[base + k] = (float) Math.sin(col);
                    out[base + quarter + k] = (float) Math.cos(col);
                    out[base + 2 * quarter + k] = (float) Math.sin(row);
                    out[base + 3 * quarter + k] = (float) Math.cos(row);
                }
            }
        }
        return out;
    }
}
