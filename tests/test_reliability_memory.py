"""Memory: training holds memory flat across epochs, and ``predict`` works batch by batch
within memory bounded by the batch size, not the input size (issue 6, "Memory").

Measured with ``tracemalloc``, which sees every NumPy allocation; the bounds are in bytes,
never in seconds. ``python -m benchmarks.memory --classic`` measures the same on the real
60000 MNIST images in resident memory (RSS).
"""

import tracemalloc

import numpy as np
import pytest

import nn_core as nn
from nn_core import kernels

L = nn.layers


@pytest.fixture
def numpy_backend():
    # The NumPy kernels allocate through NumPy, so tracemalloc sees all of their memory.
    previous = kernels.backend_name()
    kernels.set_backend("numpy")
    yield
    kernels.set_backend(previous)


class TracedMemoryPerEpoch(nn.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.current = []

    def on_epoch_end(self, epoch, logs=None):
        self.current.append(tracemalloc.get_traced_memory()[0])


def test_memory_is_flat_across_epochs(numpy_backend):
    x = np.random.default_rng(0).random((2000, 196)).astype(np.float32)
    model = nn.Sequential(
        [L.Dense(32, activation="relu"), L.Dropout(0.2), L.Dense(196, activation="sigmoid")],
        seed=0,
    )
    model.compile(optimizer="adadelta", loss="binary_crossentropy")
    probe = TracedMemoryPerEpoch()
    tracemalloc.start()
    try:
        model.fit(
            x,
            x,
            epochs=8,
            batch_size=64,
            validation_data=(x[:200], x[:200]),
            callbacks=[probe],
            verbose=0,
        )
    finally:
        tracemalloc.stop()
    # After the first epoch (optimizer state, caches created once), the memory in use at
    # each epoch end may move by a few kilobytes (history floats), nothing like a batch.
    settled = probe.current[1:]
    growth = max(settled) - min(settled)
    batch_bytes = 64 * 196 * 4
    assert growth < batch_bytes, f"memory grew by {growth} bytes over {len(settled)} epochs"


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_predict_memory_is_bounded_by_the_batch_not_the_input(numpy_backend, dtype):
    n, features, batch_size = 8000, 784, 100
    x = np.random.default_rng(0).integers(0, 256, (n, features)).astype(dtype)
    model = nn.Sequential([L.Dense(32, activation="relu")], seed=0)
    model.build((features,))
    model.predict(x[:batch_size], batch_size=batch_size)  # first-call work done
    output_bytes = n * 32 * 4
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        outputs = model.predict(x, batch_size=batch_size)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert outputs.shape == (n, 32)
    # A whole float32 copy of x would be n * 784 * 4 = 25 MB; one batch is 0.3 MB, the
    # finiteness scan's mask at most 4 MiB / 4 (it runs over blocks of samples).
    allowed = output_bytes + 2 * 2**20
    assert peak < allowed, f"predict peaked at {peak} bytes beyond the input, allowed {allowed}"
    assert peak < n * features * 4 / 10


def test_predict_checks_every_sample_for_nan_even_in_blocks():
    model = nn.Sequential([L.Dense(2)], seed=0)
    x = np.zeros((30000, 50), dtype=np.float32)
    x[29999, 7] = np.nan  # in the last block of the finiteness scan
    with pytest.raises(ValueError, match="sample 29999"):
        model.predict(x)
