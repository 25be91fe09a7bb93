package dit4j.io;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Public files `dit download` knows: the official DiT-XL/2 checkpoints and the Stable Diffusion
 * VAEs the official models were trained with. Sizes and checksums are given where they are known;
 * unknown ones are left to the size the server announces.
 */
public final class Catalog {
    private Catalog() {}

    /** One downloadable item: files placed together in the cache folder named after the item. */
    public record Item(String name, String description, List<Entry> files) {}

    /** A file of an item: its name in the cache folder and where it comes from. */
    public record Entry(String fileName, Downloader.Source source) {}

    private static final String DIT = "https://dl.fbaipublicfiles.com/DiT/models/";
    private static final String HF = "https://huggingface.co/stabilityai/";

    /** pytorch-fid's FID Inception weights (its inception.py FID_WEIGHTS_URL); pytorch-fid publishes no checksum. */
    public static final String INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth";
    private static final String INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + INCEPTION_FILE;

    public static final Map<String, Item> ITEMS = new LinkedHashMap<>();

    static {
        add(new Item("DiT-XL-2-256", "official DiT-XL/2 at 256x256 (ImageNet, EMA weights), ~2.7 GB",
                List.of(new Entry("DiT-XL-2-256x256.pt", new Downloader.Source(DIT + "DiT-XL-2-256x256.pt", -1, null)))));
        add(new Item("DiT-XL-2-512", "official DiT-XL/2 at 512x512 (ImageNet, EMA weights), ~2.7 GB",
                List.of(new Entry("DiT-XL-2-512x512.pt", new Downloader.Source(DIT + "DiT-XL-2-512x512.pt", -1, null)))));
        for (String vae : new String[] {"sd-vae-ft-ema", "sd-vae-ft-mse"}) {
            add(new Item(vae, "Stable Diffusion VAE stabilityai/" + vae + " (diffusers AutoencoderKL), ~335 MB",
                    List.of(new Entry("config.json", new Downloader.Source(HF + vae + "/resolve/main/config.json", -1, null)),
                            new Entry("diffusion_pytorch_model.safetensors",
                                    new Downloader.Source(HF + vae + "/resolve/main/diffusion_pytorch_model.safetensors", -1, null)))));
        }
    }

    /** SiT's own download.py link (willisma/SiT); no size or checksum is published. */
    private static final String SIT_URL = "https://www.dl.dropboxusercontent.com/scl/fi/as9oeomcbub47de5g4be0/SiT-XL-2-256.pt?rlkey=uxzxmpicu46coq3msb17b9ofa&dl=0";

    static {
        add(new Item("SiT-XL-2-256", "official SiT-XL/2 at 256x256 (flow matching, Linear path, velocity; EMA weights), ~2.7 GB",
                List.of(new Entry("SiT-XL-2-256.pt", new Downloader.Source(SIT_URL, -1, null)))));
        add(new Item("inception", "pytorch-fid's FID Inception network (for dit eval), ~95 MB; no published checksum",
                List.of(new Entry(INCEPTION_FILE, new Downloader.Source(INCEPTION_URL, -1, null)))));
    }

    private static void add(Item i) {
        ITEMS.put(i.name(), i);
    }

    /** An item by name, with its URLs rebased (a mirror, or a test server). */
    public static Item get(String name, String baseUrl) {
        Item item = ITEMS.get(name);
        if (item == null) throw new IllegalArgumentException("unknown download '" + name + "': expected one of " + ITEMS.keySet());
        if (baseUrl == null) return item;
        String base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
        List<Entry> files = item.files().stream()
                .map(e -> new Entry(e.fileName(), new Downloader.Source(base + item.name() + "/" + e.fileName(), e.source().expectedSize(), e.source().checksum())))
                .toList();
        return new Item(item.name(), item.description(), files);
    }
}
