package dit4j.runtime;

import dit4j.OptionException;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * The compute device named by {@code --device}: {@code cpu}, or {@code cuda[:i]} on a build with
 * libtorch's CUDA natives ({@code mvn -Pcuda package}, the linux-x86_64-gpu classifier). The
 * default build ships the CPU natives only; there {@code cuda} is refused with how to get a CUDA
 * build. CUDA was never run in this project: nothing beyond this check is claimed for it.
 */
public final class Devices {
    private Devices() {}

    static final String HOW = "build dit4j with CUDA natives (`mvn -Pcuda package`, libtorch's linux-x86_64-gpu classifier) on a machine with an NVIDIA GPU and driver";

    /** Accepts {@code cpu}, and {@code cuda[:i]} when these natives have CUDA and device i exists; else one line saying why. */
    public static void check(String device) {
        if (device.equals("cpu")) return;
        if (!device.matches("cuda(:\\d+)?")) throw new OptionException("--device must be cpu or cuda[:N], got '" + device + "'");
        Natives.load();
        if (!torch.hasCUDA()) {
            throw new OptionException("--device " + device + ": this build has libtorch's CPU natives (linux-x86_64); " + HOW);
        }
        int count = torch.cuda_is_available() ? torch.cuda_device_count() & 0xFF : 0;
        if (count == 0) throw new OptionException("--device " + device + ": these natives have CUDA but no CUDA device is visible (driver, CUDA_VISIBLE_DEVICES)");
        int index = device.contains(":") ? Integer.parseInt(device.substring(5)) : 0;
        if (index >= count) throw new OptionException("--device " + device + ": there " + (count == 1 ? "is 1 CUDA device" : "are " + count + " CUDA devices") + " (cuda:0 .. cuda:" + (count - 1) + ")");
    }

    /**
     * For the code paths that keep every tensor on the CPU (all but {@code dit sample --num-samples}):
     * {@code cuda} is refused there, also on a CUDA build, rather than silently computing on the CPU.
     */
    public static void requireCpu(String device, String what) {
        check(device);
        if (!device.equals("cpu")) {
            throw new OptionException("--device " + device + ": " + what + " runs on the CPU only in this version (on CUDA so far: dit sample --num-samples; see docs/distributed.md)");
        }
    }

    /** The checked device as libtorch's {@link Device}. */
    public static Device of(String device) {
        check(device);
        return new Device(device);
    }

    public static boolean isCuda(String device) {
        return device.startsWith("cuda");
    }
}
