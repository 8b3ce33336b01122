"""Callbacks: hook order, EarlyStopping, ModelCheckpoint, BackupAndRestore,
LearningRateScheduler (Keras semantics)."""

import io
import os

import numpy as np
import pytest

import nn_core as nn

L = nn.layers
C = nn.callbacks


def random_data(n=30, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.random((n, 2)).astype(np.float32)
    return x, y


def small_model(seed=0, dropout=False, optimizer="adam"):
    layers = [L.Dense(6, activation="relu")]
    if dropout:
        layers.append(L.Dropout(0.3))
    layers.append(L.Dense(2, activation="sigmoid"))
    model = nn.Sequential(layers, seed=seed)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


class ScriptedLogs(C.Callback):
    """Sets ``logs[key]`` to ``values[epoch]`` at each epoch end (list it before the
    callback under test), so a monitored quantity follows a known script."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class WeightsAtEpochEnd(C.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


class Recorder(C.Callback):
    """Records every hook call as (hook, index, sorted log keys)."""

    def __init__(self):
        super().__init__()
        self.events = []

    def _record(self, hook, index, logs):
        self.events.append((hook, index, tuple(sorted(logs or {}))))

    def on_train_begin(self, logs=None):
        self._record("train_begin", None, logs)

    def on_train_end(self, logs=None):
        self._record("train_end", None, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._record("batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._record("batch_end", batch, logs)


# ---------------------------------------------------------------------- hooks
def test_hooks_are_called_in_keras_order_with_logs():
    x, y = random_data(n=10)
    model = small_model()
    recorder = Recorder()
    history = model.fit(
        x, y, epochs=2, batch_size=4, validation_data=(x, y), callbacks=[recorder], verbose=0
    )
    assert recorder.model is model
    expected = [("train_begin", None, ())]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch, ()))
        for batch in range(3):  # 10 samples in batches of 4, 4, 2
            expected += [("batch_begin", batch, ()), ("batch_end", batch, ("loss",))]
        expected.append(("epoch_end", epoch, ("loss", "val_loss")))
    expected.append(("train_end", None, ()))
    assert recorder.events == expected
    assert isinstance(history, C.History) and history.epoch == [0, 1]
    assert model.history is history


def test_base_callback_hooks_do_nothing():
    callback = C.Callback()
    for hook in ("on_train_begin", "on_train_end"):
        assert getattr(callback, hook)() is None
    for hook in ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end"):
        assert getattr(callback, hook)(0, logs=None) is None


def test_callback_can_stop_training_after_the_current_epoch():
    x, y = random_data()
    recorder = Recorder()

    class StopAtEpochOne(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = small_model().fit(x, y, epochs=10, callbacks=[StopAtEpochOne(), recorder], verbose=0)
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2
    assert recorder.events[-1][0] == "train_end"


def test_progress_output(capsys):
    x, y = random_data(n=10)
    small_model().fit(x, y, epochs=2, batch_size=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "loss:" in lines[0]
    small_model().fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert capsys.readouterr().out == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_draws_a_live_bar_only_on_a_terminal():
    # Issue 18: the bar's carriage-return frames went into logs and pipes too.
    logs = {"loss": 0.5}
    for stream, live in ((io.StringIO(), False), (Terminal(), True)):
        bar = C.ProgressBar(epochs=2, steps_per_epoch=3, verbose=1, stream=stream)
        bar.on_train_begin()
        for epoch in range(2):
            bar.on_epoch_begin(epoch)
            for batch in range(3):
                bar.on_batch_end(batch, logs)
            bar.on_epoch_end(epoch, logs)
        text = stream.getvalue()
        assert ("\r" in text) is live
        if not live:
            assert text.splitlines() == [
                line for line in text.splitlines() if line.startswith("Epoch ")
            ]
            assert len(text.splitlines()) == 2 and "loss: 0.5000" in text


def test_the_eta_leaves_out_the_first_step_which_may_compile_kernels(monkeypatch):
    # Issue 18: a first epoch showed "ETA 927.6s" while the kernels compiled.
    clock = iter([0.0, 30.0, 30.5, 31.0, 31.5])  # the first step takes 30 s, then 0.5 s each
    monkeypatch.setattr(C.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(C.kernels, "backend_name", lambda: "numba")
    stream = Terminal()
    bar = C.ProgressBar(epochs=1, steps_per_epoch=10, verbose=1, stream=stream, refresh_seconds=0)
    bar.on_epoch_begin(0)  # drawn before the first step, while it compiles
    assert stream.getvalue().endswith("- compiling kernels (first run only)\x1b[K")
    bar.on_batch_end(0, {"loss": 1.0})  # 30 s: no estimate from the compiling step
    assert stream.getvalue().rsplit("\r", 1)[1].startswith(" 1/10") and "ETA -" in stream.getvalue()
    bar.on_batch_end(1, {"loss": 1.0})  # 0.5 s per step, 8 steps left
    assert (
        stream.getvalue().rsplit("\r", 1)[1].startswith(" 2/10")
        and "ETA  4.0s" in stream.getvalue()
    )
    bar.on_batch_end(2, {"loss": 1.0})
    assert "ETA  3.5s" in stream.getvalue()


# ---------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize(
    ("min_delta", "epochs_run", "best_epoch"),
    [
        # 0.79 is not an improvement by more than 0.05: waits at epochs 2 and 3, stop at 3.
        (0.05, 4, 1),
        # Without min_delta 0.79 improves: waits at epochs 3 and 4, stop at 4.
        (0.0, 5, 2),
    ],
)
def test_early_stopping_patience_min_delta_and_restore(min_delta, epochs_run, best_epoch):
    x, y = random_data()
    model = small_model()
    script = ScriptedLogs("score", [1.0, 0.8, 0.79, 0.85, 0.9, 0.5, 0.4, 0.3])
    snapshots = WeightsAtEpochEnd()
    stopper = C.EarlyStopping(
        monitor="score", patience=2, min_delta=min_delta, restore_best_weights=True
    )
    history = model.fit(x, y, epochs=8, callbacks=[script, stopper, snapshots], verbose=0)
    assert len(history.history["loss"]) == epochs_run
    assert stopper.stopped_epoch == epochs_run - 1
    assert stopper.best_epoch == best_epoch
    assert_same_arrays(model.get_weights(), snapshots.weights[best_epoch])


def test_early_stopping_patience_zero_stops_at_first_bad_epoch():
    x, y = random_data()
    script = ScriptedLogs("val_loss", [1.0, 0.9, 0.95, 0.5])
    history = small_model().fit(
        x, y, epochs=4, callbacks=[script, C.EarlyStopping(patience=0)], verbose=0
    )
    assert len(history.history["loss"]) == 3


def test_early_stopping_without_restore_keeps_last_weights():
    x, y = random_data()
    model = small_model()
    script = ScriptedLogs("score", [1.0, 2.0, 3.0, 4.0])
    snapshots = WeightsAtEpochEnd()
    stopper = C.EarlyStopping(monitor="score", patience=1)
    model.fit(x, y, epochs=4, callbacks=[script, stopper, snapshots], verbose=0)
    assert stopper.stopped_epoch == 1
    assert_same_arrays(model.get_weights(), snapshots.weights[-1])


def test_early_stopping_restores_best_weights_even_without_stopping():
    x, y = random_data()
    model = small_model()
    script = ScriptedLogs("score", [1.0, 0.5, 0.7])
    snapshots = WeightsAtEpochEnd()
    stopper = C.EarlyStopping(monitor="score", patience=5, restore_best_weights=True)
    model.fit(x, y, epochs=3, callbacks=[script, stopper, snapshots], verbose=0)
    assert stopper.stopped_epoch is None
    assert_same_arrays(model.get_weights(), snapshots.weights[1])


def test_early_stopping_max_mode_for_accuracy_like_names():
    x, y = random_data()
    script = ScriptedLogs("val_acc", [0.5, 0.6, 0.55, 0.55, 0.9])
    stopper = C.EarlyStopping(monitor="val_acc", patience=2)
    history = small_model().fit(x, y, epochs=5, callbacks=[script, stopper], verbose=0)
    assert stopper.mode == "max" and len(history.history["loss"]) == 4


def test_early_stopping_on_real_validation_loss_and_missing_monitor():
    x, y = random_data()
    stopper = C.EarlyStopping(patience=1)  # monitors val_loss
    with pytest.raises(ValueError, match="'val_loss' is not in the logs.*validation_data"):
        small_model().fit(x, y, epochs=2, callbacks=[stopper], verbose=0)
    history = small_model().fit(
        x, y, epochs=3, validation_data=(x, y), callbacks=[stopper], verbose=0
    )
    assert len(history.history["val_loss"]) == 3
    with pytest.raises(ValueError, match="patience"):
        C.EarlyStopping(patience=-1)


# ---------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_formats_epoch_and_logs_into_the_name(tmp_path):
    x, y = random_data()
    model = small_model()
    snapshots = WeightsAtEpochEnd()
    checkpoint = C.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.npz")
    history = model.fit(
        x, y, epochs=3, validation_data=(x, y), callbacks=[snapshots, checkpoint], verbose=0
    )
    expected = [
        f"ckpt-{epoch + 1:02d}-{val_loss:.3f}.npz"
        for epoch, val_loss in enumerate(history.history["val_loss"])
    ]
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    for name, weights in zip(expected, snapshots.weights):
        assert_same_arrays(nn.load_model(tmp_path / name).get_weights(), weights)


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = random_data()
    model = small_model()
    script = ScriptedLogs("val_loss", [1.0, 1.2, 0.9, 0.95])
    snapshots = WeightsAtEpochEnd()
    every_best = C.ModelCheckpoint(tmp_path / "best-{epoch}.npz", save_best_only=True)
    latest_best = C.ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    model.fit(x, y, epochs=4, callbacks=[script, snapshots, every_best, latest_best], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["best-1.npz", "best-3.npz", "best.npz"]
    assert_same_arrays(nn.load_model(tmp_path / "best.npz").get_weights(), snapshots.weights[2])
    assert_same_arrays(nn.load_model(tmp_path / "best-1.npz").get_weights(), snapshots.weights[0])


# ---------------------------------------------------------------------- BackupAndRestore
class Interrupt(C.Callback):
    """Raises at epoch ``epoch``: at its end, or at the start of batch ``batch``."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_begin(self, batch, logs=None):
        if self.batch is not None and (self.current, batch) == (self.epoch, self.batch):
            raise KeyboardInterrupt("simulated interruption")

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.epoch:
            raise KeyboardInterrupt("simulated interruption")


class CountEpochs(C.Callback):
    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.parametrize("dropout", [False, True], ids=["no dropout", "dropout"])
@pytest.mark.parametrize(
    ("interrupt_first", "batch", "resumed_epochs"),
    [
        (False, None, [3, 4, 5]),  # after the backup of epoch 2 was written
        (True, None, [2, 3, 4, 5]),  # at epoch 2's end, before its backup
        (False, 1, [2, 3, 4, 5]),  # in the middle of epoch 2
    ],
    ids=["after backup", "before backup", "mid-epoch"],
)
def test_backup_and_restore_resumes_bit_identically(
    tmp_path, dropout, interrupt_first, batch, resumed_epochs
):
    x, y = random_data(n=30)
    x_val, y_val = random_data(n=8, seed=1)
    fit_args = dict(epochs=6, batch_size=8, validation_data=(x_val, y_val), verbose=0)

    reference = small_model(seed=5, dropout=dropout)
    expected = reference.fit(x, y, **fit_args)

    backup_dir = tmp_path / "backup"
    backup = C.BackupAndRestore(backup_dir)
    interrupt = Interrupt(epoch=2, batch=batch)
    callbacks = [interrupt, backup] if interrupt_first else [backup, interrupt]
    with pytest.raises(KeyboardInterrupt):
        small_model(seed=5, dropout=dropout).fit(x, y, callbacks=callbacks, **fit_args)
    assert os.path.exists(backup.backup_path)

    counter = CountEpochs()
    resumed_model = small_model(seed=5, dropout=dropout)
    resumed = resumed_model.fit(x, y, callbacks=[backup, counter], **fit_args)
    assert counter.epochs == resumed_epochs  # it resumed rather than starting over
    assert resumed.history == expected.history
    assert resumed.epoch == expected.epoch == list(range(6))
    assert_same_arrays(resumed_model.get_weights(), reference.get_weights())
    assert resumed_model.optimizer.iterations == reference.optimizer.iterations
    assert not os.path.exists(backup_dir)  # deleted once training completed


def test_backup_and_restore_keeps_checkpoint_when_asked(tmp_path):
    x, y = random_data()
    backup = C.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False)
    small_model().fit(x, y, epochs=2, callbacks=[backup], verbose=0)
    assert os.path.exists(backup.backup_path)
    counter = CountEpochs()
    small_model().fit(x, y, epochs=2, callbacks=[backup, counter], verbose=0)
    assert counter.epochs == []  # the backup says both epochs are done


def test_backup_and_restore_refuses_a_plain_model_file(tmp_path):
    x, y = random_data()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    backup = C.BackupAndRestore(tmp_path)
    model.save(backup.backup_path)
    with pytest.raises(nn.ModelFileError, match="not a training backup"):
        small_model().fit(x, y, epochs=1, callbacks=[backup], verbose=0)


# ---------------------------------------------------------------------- LearningRateScheduler
def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    x, y = random_data(n=12)
    model = small_model(optimizer=nn.optimizers.SGD(learning_rate=0.1))
    calls = []

    def schedule(epoch, learning_rate):
        calls.append((epoch, learning_rate))
        return 0.5 * 0.5**epoch

    class CheckSgdStep(C.Callback):
        """One full batch per epoch: the epoch's update must be -lr * gradient."""

        def on_epoch_begin(self, epoch, logs=None):
            self.rate = self.model.optimizer.learning_rate
            self.before = self.model.get_weights()
            _, self.gradients = self.model.loss_and_gradients(x, y)

        def on_epoch_end(self, epoch, logs=None):
            assert self.rate == 0.5 * 0.5**epoch
            for before, after, grad in zip(self.before, self.model.get_weights(), self.gradients):
                np.testing.assert_allclose(after - before, -self.rate * grad, rtol=1e-4, atol=1e-7)
            checked.append(epoch)

    checked = []
    scheduler = C.LearningRateScheduler(schedule)
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=12,
        shuffle=False,
        callbacks=[scheduler, CheckSgdStep()],
        verbose=0,
    )
    assert checked == [0, 1, 2]
    assert calls == [(0, 0.1), (1, 0.5), (2, 0.25)]  # called with the current rate
    assert model.optimizer.learning_rate == 0.125


def test_learning_rate_scheduler_refuses_bad_rates_and_schedules():
    x, y = random_data()
    model = small_model(optimizer="sgd")
    with pytest.raises(ValueError, match="returned -1.0 at epoch 0"):
        model.fit(x, y, callbacks=[C.LearningRateScheduler(lambda e, lr: -1.0)], verbose=0)
    with pytest.raises(ValueError, match="callable"):
        C.LearningRateScheduler(0.1)
    scheduled = small_model(
        optimizer=nn.optimizers.SGD(learning_rate=nn.optimizers.ExponentialDecay(0.1, 10, 0.5))
    )
    with pytest.raises(ValueError, match="already a schedule"):
        scheduled.fit(x, y, callbacks=[C.LearningRateScheduler(lambda e, lr: lr)], verbose=0)
