package dit4j.runtime;

import dit4j.OptionException;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * The compute device named by {@code --device}: {@code cpu}, or {@code cuda[:i]} on a build with
 * libtorch's CUDA natives ({@code mvn -Pcuda package}, the linux-x86_64-gpu classifier). The
 * default build ships the CPU natives only; there {@code cuda} is refused with how to get a CUDA
 * build. CUDA was never run in this project: the CUDA paths are written, not measured.
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
     * For the code paths that keep every tensor on the CPU: {@code cuda} is refused there, also on a
     * CUDA build, rather than silently computing on the CPU.
     */
    public static void requireCpu(String device, String what) {
        check(device);
        if (!device.equals("cpu")) {
            throw new OptionException("--device " + device + ": " + what + " runs on the CPU only in this version (on CUDA: dit train, dit bench, dit sample --num-samples; see docs/distributed.md)");
        }
    }

    /**
     * The checked device as libtorch's {@link Device}; plain {@code cuda} is {@code cuda:0}, so that
     * it compares equal to the device of the tensors put there.
     */
    public static Device of(String device) {
        check(device);
        return new Device(device.equals("cuda") ? "cuda:0" : device);
    }

    /** {@code t} on {@code device}: the same tensor when it is there already. */
    public static org.bytedeco.pytorch.Tensor to(org.bytedeco.pytorch.Tensor t, Device device) {
        return t.device().equals(device) ? t : t.to(device, t.scalar_type());
    }

    public static boolean isCuda(String device) {
        return device.startsWith("cuda");
    }
}
