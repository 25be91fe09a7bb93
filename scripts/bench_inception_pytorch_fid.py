#!/usr/bin/python3
"""Inception forward throughput of pytorch-fid's own FID network (random weights in its layout), for
comparison with `dit eval`. Usage (Debian torch; preload OpenBLAS, or torch falls back to reference BLAS):

  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 \
    /usr/bin/python3 scripts/bench_inception_pytorch_fid.py PYTORCH_FID_CHECKOUT [BATCH] [THREADS] [CHANNELS_LAST]
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_inception_vectors import install_random_weights, load_pytorch_fid  # noqa: E402


def main():
    checkout = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    channels_last = len(sys.argv) > 4 and sys.argv[4] == "1"
    torch.set_num_threads(threads)
    inception, _ = load_pytorch_fid(checkout)
    install_random_weights(inception)
    net = inception.InceptionV3([3]).eval()
    x = torch.rand(batch, 3, 299, 299)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for rep in range(3):
            t0 = time.perf_counter()
            net(x)[0].sum().item()
            dt = time.perf_counter() - t0
            print("pytorch-fid torch %s threads %d batch %d channels_last %s: %.2f s, %.2f img/s"
                  % (torch.__version__, threads, batch, channels_last, dt, batch / dt))


if __name__ == "__main__":
    main()
