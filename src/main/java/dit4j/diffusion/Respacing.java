package dit4j.diffusion;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** {@code space_timesteps}: which of the base steps a shorter sampling schedule keeps. */
public final class Respacing {
    private Respacing() {}

    /**
     * @param numTimesteps the base schedule length, e.g. 1000
     * @param sectionCounts {@code "250"}, {@code "ddim50"} (an exact integer stride), or
     *     {@code "10,15,20"} (equal sections of the base schedule, each with its own count);
     *     empty means every step
     * @return the kept timesteps, ascending
     */
    public static long[] spaceTimesteps(int numTimesteps, String sectionCounts) {
        String spec = sectionCounts == null ? "" : sectionCounts.trim();
        if (spec.isEmpty()) spec = Integer.toString(numTimesteps);
        TreeSet<Long> steps = new TreeSet<>();
        if (spec.startsWith("ddim")) {
            int desired = parseCount(spec.substring(4), sectionCounts);
            for (int stride = 1; stride < numTimesteps; stride++) {
                if ((numTimesteps + stride - 1) / stride == desired) {
                    for (long s = 0; s < numTimesteps; s += stride) steps.add(s);
                    return toArray(steps);
                }
            }
            throw new IllegalArgumentException("cannot create exactly " + desired + " steps with an integer stride from " + numTimesteps);
        }
        List<Integer> counts = new ArrayList<>();
        for (String part : spec.split(",")) counts.add(parseCount(part, sectionCounts));
        int sizePer = numTimesteps / counts.size();
        int extra = numTimesteps % counts.size();
        int startIdx = 0;
        for (int i = 0; i < counts.size(); i++) {
            int size = sizePer + (i < extra ? 1 : 0);
            int count = counts.get(i);
            if (size < count) throw new IllegalArgumentException("cannot divide a section of " + size + " steps into " + count);
            double fracStride = count <= 1 ? 1 : (double) (size - 1) / (count - 1);
            double cur = 0.0;
            for (int k = 0; k < count; k++) {
                steps.add((long) startIdx + (long) Math.rint(cur)); // Python's round: half to even
                cur += fracStride;
            }
            startIdx += size;
        }
        return toArray(steps);
    }

    private static int parseCount(String s, String whole) {
        try {
            int v = Integer.parseInt(s.trim());
            if (v < 1) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad timestep respacing '" + whole + "': expected e.g. 250, ddim50 or 10,15,20");
        }
    }

    private static long[] toArray(TreeSet<Long> set) {
        long[] out = new long[set.size()];
        int i = 0;
        for (long v : set) out[i++] = v;
        return out;
    }
}
