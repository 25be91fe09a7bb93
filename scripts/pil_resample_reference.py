"""Prints the Pillow reference values pasted into src/test/java/dit4j/data/ResampleTest.java.

Run once with Debian's python3-pil (Pillow 9.4): /usr/bin/python3 scripts/pil_resample_reference.py
The tests do not need Python. Inputs are a formula both sides compute, so only outputs are literals.
"""
import numpy as np
from PIL import Image


def pattern(w, h, c):
    # sharp jumps (the mod wraps) so bicubic overshoots and clipping is exercised
    y, x = np.mgrid[0:h, 0:w]
    planes = [(x * x * 13 + y * 29 + x * y * 7 + k * 71) % 256 for k in range(c)]
    a = np.stack(planes, axis=-1).astype(np.uint8)
    return Image.fromarray(a[:, :, 0] if c == 1 else a, "L" if c == 1 else "RGB")


def center_crop_arr(pil_image, image_size):  # ADM / official DiT, verbatim
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
    arr = np.array(pil_image)
    crop_y = (arr.shape[0] - image_size) // 2
    crop_x = (arr.shape[1] - image_size) // 2
    return Image.fromarray(arr[crop_y: crop_y + image_size, crop_x: crop_x + image_size])


def chw(img):
    a = np.array(img)
    if a.ndim == 3:
        a = a.transpose(2, 0, 1)
    return ", ".join(str(v) for v in a.reshape(-1))


cases = [
    ("BICUBIC_7x5_TO_4x3", pattern(7, 5, 1).resize((4, 3), Image.BICUBIC)),
    ("BICUBIC_5x4_TO_9x7", pattern(5, 4, 1).resize((9, 7), Image.BICUBIC)),
    ("BICUBIC_40x30_TO_7x5", pattern(40, 30, 1).resize((7, 5), Image.BICUBIC)),
    ("BOX_9x7_TO_4x3", pattern(9, 7, 1).resize((4, 3), Image.BOX)),
    ("CROP_RGB_23x13_TO_5", center_crop_arr(pattern(23, 13, 3), 5)),
    ("CROP_10x15_TO_6", center_crop_arr(pattern(10, 15, 1), 6)),
    ("CROP_6x4_TO_3", center_crop_arr(pattern(6, 4, 1), 3)),
]
for name, img in cases:
    print(f"    static final int[] {name} = {{{chw(img)}}};")
