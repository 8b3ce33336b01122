"""Training from a memory-mapped array larger than we would like to load (issue 19).

    python -m benchmarks.memory                  # 680000 x 784 float32 (2.0 GiB), 1 epoch
    python -m benchmarks.memory --quick          # 68000 samples (0.2 GiB), a smoke run
    python -m benchmarks.memory --size 200000 --epochs 2
    python -m benchmarks.memory --classic        # issue 6's per-epoch memory on MNIST

Writes a float32 array of ``--size`` synthetic MNIST-like images (784 pixels in [0, 1],
about 80% of them 0) to a temporary .npy file, chunk by chunk, then trains the dense
784-32-784 autoencoder (Adam, binary cross-entropy, batch 256, shuffled, seed 0) on it
for ``--epochs`` epochs, twice, each in its own process so that each peak is its own:

* ``memmap``: ``np.load(path, mmap_mode="r")``, read batch by batch by ``fit``;
* ``memory``: ``np.load(path)``, the whole array in memory first (the old way).

Memory is sampled every 20 ms from /proc/self/status: ``RssAnon`` is the memory the
process owns (arrays, the interpreter); ``RssFile`` counts the pages of the mapped file
that are resident at the time: the kernel's page cache, shared and dropped under memory
pressure, so not memory the training needs. The peak of both (``VmHWM``) is printed
too. The file is deleted at the end. The final weights of the two runs are compared:
they are bit-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

MIB = 2**20
FEATURES = 784
CHUNK = 20000


def status_bytes() -> dict:
    """{"RssAnon", "RssFile", "VmRSS", "VmHWM"} of this process, in bytes (Linux)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


class Sampler(threading.Thread):
    """Peaks of ``status_bytes`` sampled every ``interval`` seconds until ``stop``."""

    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval, self.peaks, self.done = interval, {}, threading.Event()

    def sample(self):
        for key, value in status_bytes().items():
            self.peaks[key] = max(self.peaks.get(key, 0), value)

    def run(self):
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self) -> dict:
        self.done.set()
        self.join()
        self.sample()
        return dict(self.peaks)


def write_images(path: str, size: int, seed: int = 0) -> float:
    """A (size, 784) float32 .npy of sparse random 'images', written in chunks; seconds."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size, FEATURES))
    for first in range(0, size, CHUNK):
        chunk = rng.random((min(CHUNK, size - first), FEATURES), dtype=np.float32)
        chunk[chunk < 0.8] = 0.0
        array[first : first + len(chunk)] = chunk
    array.flush()
    del array
    return time.perf_counter() - start


def train_variant(variant: str, path: str, epochs: int, batch_size: int) -> dict:
    """Train on the file as ``variant`` ("memmap" or "memory"); peaks, times, a checksum."""
    import nn_core as nn
    from autoencoders import DenseAutoencoder

    sampler = Sampler()
    sampler.start()
    before = status_bytes()
    start = time.perf_counter()
    x = np.load(path, mmap_mode="r" if variant == "memmap" else None)
    load_seconds = time.perf_counter() - start
    model = DenseAutoencoder(FEATURES, code_size=32, seed=0).build()
    model.compile(optimizer="adam")

    class EpochTimes(nn.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    times = EpochTimes()
    faults_before = resource.getrusage(resource.RUSAGE_SELF)
    history = model.fit(x, epochs=epochs, batch_size=batch_size, callbacks=[times], verbose=0)
    faults = resource.getrusage(resource.RUSAGE_SELF)
    peaks = sampler.stop()
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    return {
        "variant": variant,
        "backend": nn.kernels.backend_name(),
        "load_s": load_seconds,
        "epoch_s": times.seconds,
        "loss": history.history["loss"],
        "start_anon_mib": before["RssAnon"] / MIB,
        "peak_anon_mib": peaks["RssAnon"] / MIB,
        "peak_file_mib": peaks["RssFile"] / MIB,
        "peak_rss_mib": peaks["VmHWM"] / MIB,
        "weights_sha": _digest(weights),
        # page faults during fit: major ones read the disk (the file was not cached)
        "minor_faults": faults.ru_minflt - faults_before.ru_minflt,
        "major_faults": faults.ru_majflt - faults_before.ru_majflt,
    }


def _digest(array) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def run_in_subprocess(variant, path, epochs, batch_size) -> dict:
    command = [sys.executable, "-m", "benchmarks.memory", "--variant", variant, "--path", path]
    command += ["--epochs", str(epochs), "--batch-size", str(batch_size)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{variant} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=680000, help="samples (default 680000)")
    parser.add_argument("--quick", action="store_true", help="68000 samples, a smoke run")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--classic", action="store_true", help="issue 6's MNIST benchmark")
    parser.add_argument("--variant", choices=("memmap", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.classic:
        from benchmarks import memory_classic

        return memory_classic.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.variant:  # the child process
        result = train_variant(args.variant, args.path, args.epochs, args.batch_size)
        print(json.dumps(result))
        return result

    size = 68000 if args.quick else args.size
    gib = size * FEATURES * 4 / 2**30
    with tempfile.TemporaryDirectory(prefix="nn_core_memory_") as folder:
        path = os.path.join(folder, "images.npy")
        seconds = write_images(path, size)
        print(f"wrote {size} x {FEATURES} float32 ({gib:.2f} GiB) in {seconds:.1f} s: {path}")
        results = {}
        for variant in ("memmap", "memory"):
            results[variant] = result = run_in_subprocess(
                variant, path, args.epochs, args.batch_size
            )
            epochs = ", ".join(f"{s:.1f}" for s in result["epoch_s"])
            print(
                f"{variant:6s} ({result['backend']}): load {result['load_s']:5.1f} s, epoch "
                f"{epochs} s; peak RssAnon {result['peak_anon_mib']:7.1f} MiB (at start "
                f"{result['start_anon_mib']:.1f}), peak RssFile {result['peak_file_mib']:7.1f} "
                f"MiB, VmHWM {result['peak_rss_mib']:7.1f} MiB; page faults in fit "
                f"{result['minor_faults']} minor, {result['major_faults']} major; "
                f"loss {result['loss'][-1]:.5f}"
            )
    memmap, memory = results["memmap"], results["memory"]
    summary = {
        "size": size,
        "array_mib": size * FEATURES * 4 / MIB,
        "anon_ratio_memmap_to_memory": memmap["peak_anon_mib"] / memory["peak_anon_mib"],
        "anon_fraction_of_array_memmap": memmap["peak_anon_mib"] / (size * FEATURES * 4 / MIB),
        "epoch_ratio_memmap_to_memory": memmap["epoch_s"][-1] / memory["epoch_s"][-1],
        "identical_weights": memmap["weights_sha"] == memory["weights_sha"],
        "results": results,
    }
    print(
        f"array {summary['array_mib']:.0f} MiB; peak owned memory (RssAnon) memmap / memory "
        f"{summary['anon_ratio_memmap_to_memory']:.3f} (memmap's is "
        f"{100 * summary['anon_fraction_of_array_memmap']:.1f}% of the array); epoch time "
        f"memmap / memory {summary['epoch_ratio_memmap_to_memory']:.2f}; identical weights: "
        f"{summary['identical_weights']}"
    )
    return summary


if __name__ == "__main__":
    main()
