package dit4j.sample;

import dit4j.OptionException;
import java.util.List;

/** The class labels of a sampling request. */
public final class Labels {
    private Labels() {}

    /** The official sample.py's classes, for 1000-class models. */
    public static final long[] OFFICIAL = {207, 360, 387, 974, 88, 979, 417, 279};

    /** {@code perClass} images of every class, in class order. */
    public static long[] perClass(int numClasses, int perClass) {
        if (perClass < 1) throw new OptionException("--per-class must be positive, got " + perClass);
        long[] ys = new long[numClasses * perClass];
        for (int i = 0; i < ys.length; i++) ys[i] = i / perClass;
        return ys;
    }

    /** Class ids or names as given; none given: the official classes of ImageNet models, else one of each class. */
    public static long[] parse(List<String> given, List<String> names, int numClasses) {
        if (given == null || given.isEmpty()) return numClasses == 1000 ? OFFICIAL.clone() : perClass(numClasses, 1);
        long[] ys = new long[given.size()];
        for (int i = 0; i < ys.length; i++) {
            try {
                ys[i] = ClassNames.parse(given.get(i).trim(), names, numClasses);
            } catch (IllegalArgumentException e) {
                throw new OptionException("--labels: " + e.getMessage());
            }
        }
        return ys;
    }
}
