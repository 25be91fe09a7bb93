package dit4j.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.eval.Verify;
import dit4j.io.CheckpointException;
import dit4j.io.Safetensors;
import dit4j.io.StateDicts;
import dit4j.runtime.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The VAE against vectors from an independent PyTorch AutoencoderKL (scripts/make_vae_vectors.py). */
class VaeTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"vae_two_level", "vae_three_level_old_keys"})
    void everyVaeGroupPassesInBothKeyNamings(String name) throws Exception {
        AutoencoderKL vae = VaeFiles.load(TestFiles.resource("vae/" + name), null);
        Verify.Report r = Verify.runVae(vae, Safetensors.read(TestFiles.resource("vae/" + name + ".vectors.safetensors")).tensors(), 1e-4, 1e-3, l -> {});
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertEquals(5, r.lines().size());
        assertTrue(r.ok(), r.lines().toString());
    }

    @Test
    void aPerturbedDecoderFails() throws Exception {
        AutoencoderKL vae = VaeFiles.load(TestFiles.resource("vae/vae_two_level"), null);
        try (NoGradGuard g = new NoGradGuard()) {
            StateDicts.of(vae).get("decoder.conv_out.bias").add_(new Scalar(1e-2));
        }
        Verify.Report r = Verify.runVae(vae, Safetensors.read(TestFiles.resource("vae/vae_two_level.vectors.safetensors")).tensors(), 1e-4, 1e-3, l -> {});
        assertFalse(r.ok());
        assertTrue(r.lines().stream().filter(l -> !l.ok()).allMatch(l -> l.name().startsWith("vae_decode") || l.name().startsWith("vae_recon")));
    }

    @Test
    void stableDiffusionVaeHasDiffusersParameterCount() {
        assertEquals(83_653_863L, VaeFiles.parameters(VaeConfig.sd()));
        assertEquals(8, VaeConfig.sd().downsampling());
    }

    @Test
    void configAndWeightErrorsNameTheFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("v"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> VaeFiles.load(dir, null));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("diffusion_pytorch_model"), e.getMessage());
        Files.copy(TestFiles.resource("vae/vae_two_level/diffusion_pytorch_model.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        e = assertThrows(CheckpointException.class, () -> VaeFiles.load(dir, null));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"block_out_channels\": [16, 64], \"layers_per_block\": 1, \"norm_num_groups\": 8}");
        e = assertThrows(CheckpointException.class, () -> VaeFiles.load(dir, null));
        assertTrue(e.getMessage().contains("shape mismatch"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"block_out_channels\": [16], \"down_block_types\": [\"AttnDownEncoderBlock2D\"]}");
        e = assertThrows(CheckpointException.class, () -> VaeFiles.load(dir, null));
        assertTrue(e.getMessage().contains("AttnDownEncoderBlock2D"), e.getMessage());
    }

    @Test
    void slicedAndTiledDecodingMatchPlainDecoding() throws Exception {
        AutoencoderKL vae = VaeFiles.load(TestFiles.resource("vae/vae_two_level"), null);
        try (InferenceMode g = new InferenceMode()) {
            Tensor z = torch.randn(2, 4, 12, 12);
            Tensor plain = vae.decode(z);
            // One image at a time is the same computation up to summation order.
            double scale = plain.abs().max().item_double();
            assertEquals(0.0, vae.decodeSliced(z).sub(plain).abs().max().item_double(), 1e-5 * scale);
            // A tile covering the whole latent is plain decoding; smaller tiles blend seams but keep shape and scale.
            assertEquals(0.0, vae.decodeTiled(z, 12, 0.25).sub(plain).abs().max().item_double(), 1e-5 * scale);
            Tensor tiled = vae.decodeTiled(z, 8, 0.25);
            assertArrayEquals(Tensors.shape(plain), Tensors.shape(tiled));
            assertTrue(tiled.isfinite().all().item_bool());
        }
    }

    @Test
    void tilingAndBlendingReassembleALocalDecoderExactly() {
        // A decoder with no context (nearest 4x upsampling): overlapping tiles agree, so blending them
        // must reproduce the whole image exactly, seams and borders included.
        java.util.function.UnaryOperator<Tensor> local = t -> torch.upsample_nearest2d(t, new long[] {t.size(2) * 4, t.size(3) * 4});
        try (InferenceMode g = new InferenceMode()) {
            for (long[] hw : new long[][] {{20, 20}, {13, 27}, {9, 9}}) {
                Tensor z = torch.randn(1, 3, hw[0], hw[1]);
                Tensor whole = local.apply(z);
                Tensor tiled = AutoencoderKL.tiled(local, z, 8, 0.25, 4);
                assertArrayEquals(Tensors.shape(whole), Tensors.shape(tiled));
                assertEquals(0.0, tiled.sub(whole).abs().max().item_double(), 1e-6, java.util.Arrays.toString(hw));
            }
        }
    }

    @Test
    void posteriorSampleUsesTheGivenNoise() throws Exception {
        AutoencoderKL vae = VaeFiles.load(TestFiles.resource("vae/vae_two_level"), null);
        Map<String, Tensor> v = Safetensors.read(TestFiles.resource("vae/vae_two_level.vectors.safetensors")).tensors();
        try (InferenceMode g = new InferenceMode()) {
            AutoencoderKL.Posterior p = vae.encode(v.get("vae_sample.x"));
            assertTrue(p.logvar().max().item_double() <= 20 && p.logvar().min().item_double() >= -30);
            assertEquals(0.0, p.sample(torch.zeros_like(p.mean())).sub(p.mode()).abs().max().item_double(), 0.0);
        }
    }
}
