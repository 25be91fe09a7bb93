#!/usr/bin/python3
"""Synthetic image batches for measuring `dit eval` (docs/evaluation.md): N uint8 images of SIZE x SIZE x 3,
each a random colour and gradient plus noise, written as an uncompressed .npz with `arr_0` (the
layout `dit sample` and the ADM evaluator use) without holding the batch in memory.

    /usr/bin/python3 scripts/make_eval_batches.py A10k.npz 10000 256 1
    /usr/bin/python3 scripts/make_eval_batches.py B10k.npz 10000 256 2
"""
import os
import sys
import zipfile

import numpy as np


def main():
    path, n, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    tmp = path + ".npy"
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    for i in range(0, n, 500):
        k = min(500, n - i)
        colour = rng.uniform(0, 255, (k, 1, 1, 3)).astype(np.float32)
        slope = rng.uniform(-120, 120, (k, 1, 1, 2)).astype(np.float32)
        img = colour + slope[..., :1] * xx[None, :, :, None] + slope[..., 1:] * yy[None, :, :, None]
        img += rng.normal(0, 20, img.shape).astype(np.float32)
        arr[i:i + k] = np.clip(img, 0, 255).astype(np.uint8)
    arr.flush()
    del arr
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.write(tmp, "arr_0.npy")
    os.remove(tmp)


if __name__ == "__main__":
    main()
