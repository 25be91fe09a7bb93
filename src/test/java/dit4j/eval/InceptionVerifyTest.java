package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.io.Safetensors;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Java FID network against vectors from pytorch-fid's own code (scripts/make_inception_vectors.py). */
class InceptionVerifyTest {

    @Test
    void everyInceptionGroupPasses() throws Exception {
        InceptionV3 net = InceptionV3.load(InceptionTestWeights.file());
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("inception/inception.vectors.safetensors"));
        Verify.Report r = InceptionVerify.run(net, v.tensors(), Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> System.out.println(l));
        r.errors().forEach(System.out::println);
        assertEquals(List.of("fid", "fid2", "fd", "fd_lowrank"), r.groups());
        assertTrue(r.ok(), "all groups within tolerance");
        assertTrue(r.lines().size() >= 2 * 9 + 1 + 2 * 5, "lines: " + r.lines().size());
    }
}
