"""Optimizers and learning-rate schedules: against PyTorch step for step, and by hand."""

import io
import json
import math

import numpy as np
import pytest

from nn_core import optimizers
from nn_core.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    RMSprop,
    StepDecay,
    schedules,
)

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 20


def random_run(seed=0, dtype=np.float64, shapes=SHAPES, steps=STEPS):
    """Initial params and a fixed sequence of gradients: lists of arrays of ``shapes``."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in shapes] for _ in range(steps)]
    return params, grads


# (ours, torch's) for each optimizer and option combination; eps/alpha/betas mapped.
TORCH_CASES = {
    "sgd": (lambda: SGD(0.1), lambda p, t: t.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (
        lambda: SGD(0.1, momentum=0.9),
        lambda p, t: t.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "sgd-nesterov": (
        lambda: SGD(0.05, momentum=0.9, nesterov=True),
        lambda p, t: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "sgd-momentum-weight-decay": (
        lambda: SGD(0.1, momentum=0.5, weight_decay=0.01),
        lambda p, t: t.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01),
    ),
    "sgd-weight-decay": (
        lambda: SGD(0.1, weight_decay=0.1),
        lambda p, t: t.optim.SGD(p, lr=0.1, weight_decay=0.1),
    ),
    "adagrad": (lambda: Adagrad(), lambda p, t: t.optim.Adagrad(p, lr=0.01, eps=1e-7)),
    "adagrad-initial-accumulator": (
        lambda: Adagrad(0.1, initial_accumulator_value=0.1, epsilon=1e-10),
        lambda p, t: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-10),
    ),
    "adadelta": (
        lambda: Adadelta(),
        lambda p, t: t.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7),
    ),
    "adadelta-torch-defaults": (
        lambda: Adadelta(0.5, rho=0.9, epsilon=1e-6),
        lambda p, t: t.optim.Adadelta(p, lr=0.5, rho=0.9, eps=1e-6),
    ),
    "rmsprop": (
        lambda: RMSprop(),
        lambda p, t: t.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7),
    ),
    "rmsprop-centered": (
        lambda: RMSprop(0.01, rho=0.8, centered=True),
        lambda p, t: t.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7, centered=True),
    ),
    "rmsprop-momentum": (
        lambda: RMSprop(0.01, momentum=0.9),
        lambda p, t: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.9),
    ),
    "rmsprop-centered-momentum": (
        lambda: RMSprop(0.01, rho=0.99, momentum=0.5, epsilon=1e-8, centered=True),
        lambda p, t: t.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.5, centered=True),
    ),
    "adam": (lambda: Adam(), lambda p, t: t.optim.Adam(p, lr=1e-3, eps=1e-7)),
    "adam-amsgrad": (
        lambda: Adam(0.01, amsgrad=True),
        lambda p, t: t.optim.Adam(p, lr=0.01, eps=1e-7, amsgrad=True),
    ),
    "adam-betas": (
        lambda: Adam(0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-8),
        lambda p, t: t.optim.Adam(p, lr=0.01, betas=(0.5, 0.9), eps=1e-8),
    ),
    "adamw": (
        lambda: AdamW(),
        lambda p, t: t.optim.AdamW(p, lr=1e-3, eps=1e-7, weight_decay=0.01),
    ),
    "adamw-strong-decay": (
        lambda: AdamW(0.01, beta_2=0.99, weight_decay=0.5),
        lambda p, t: t.optim.AdamW(p, lr=0.01, betas=(0.9, 0.99), eps=1e-7, weight_decay=0.5),
    ),
}

ALL_OPTIMIZERS = [ours for ours, _ in TORCH_CASES.values()]


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch_step_for_step(case):
    torch = pytest.importorskip("torch")
    make_ours, make_torch = TORCH_CASES[case]
    params, grad_sequence = random_run()
    torch_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours, theirs = make_ours(), make_torch(torch_params, torch)
    for grads in grad_sequence:
        ours.step(params, grads)
        for torch_param, grad in zip(torch_params, grads, strict=True):
            torch_param.grad = torch.tensor(grad)
        theirs.step()
        # atol: an entry passing near 0 has a large relative error from one rounding (torch
        # uses fused multiply-adds); the parameters are of order 1.
        for param, torch_param in zip(params, torch_params, strict=True):
            np.testing.assert_allclose(param, torch_param.detach().numpy(), rtol=1e-12, atol=1e-14)
    # Same state, under torch's names.
    state = ours.get_state()
    assert int(state.pop("iterations")) == STEPS
    for index, torch_param in enumerate(torch_params):
        torch_state = {k: v for k, v in theirs.state[torch_param].items() if k != "step"}
        ours_state = {k.split("/")[1]: v for k, v in state.items() if k.startswith(f"{index}/")}
        assert sorted(ours_state) == sorted(torch_state)
        for name, value in ours_state.items():
            np.testing.assert_allclose(value, torch_state[name].numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "schedule, make_scheduler",
    [
        (
            StepDecay(0.1, step_size=3, gamma=0.5),
            lambda t, o: t.optim.lr_scheduler.StepLR(o, 3, 0.5),
        ),
        (
            ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9),
            lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
        ),
    ],
)
def test_scheduled_adam_and_global_clipping_match_torch(schedule, make_scheduler):
    torch = pytest.importorskip("torch")
    params, grad_sequence = random_run(seed=1)
    torch_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours = Adam(schedule, epsilon=1e-8, global_clipnorm=2.0)
    theirs = torch.optim.Adam(torch_params, lr=0.1, eps=1e-8)
    scheduler = make_scheduler(torch, theirs)
    for grads in grad_sequence:
        ours.step(params, grads)
        for torch_param, grad in zip(torch_params, grads, strict=True):
            torch_param.grad = torch.tensor(grad)
        torch.nn.utils.clip_grad_norm_(torch_params, max_norm=2.0)
        theirs.step()
        scheduler.step()
        assert ours.current_learning_rate() == pytest.approx(
            theirs.param_groups[0]["lr"], rel=1e-12
        )
        for param, torch_param in zip(params, torch_params, strict=True):
            np.testing.assert_allclose(param, torch_param.detach().numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ first step by hand
# p = [1, -2], g = [0.5, 0.25]; each expected value is the class-docstring formula worked out.
HAND_CASES = [
    (SGD(0.1), [1 - 0.05, -2 - 0.025]),
    (SGD(0.1, momentum=0.9), [1 - 0.05, -2 - 0.025]),  # b = g on the first step
    (SGD(0.1, momentum=0.9, nesterov=True), [1 - 0.1 * 1.9 * 0.5, -2 - 0.1 * 1.9 * 0.25]),
    (SGD(0.1, weight_decay=0.1), [1 - 0.1 * 0.6, -2 - 0.1 * 0.05]),  # g + 0.1 p = [0.6, 0.05]
    (Adagrad(0.1, epsilon=0.0), [0.9, -2.1]),  # sum = g^2: p - lr * sign(g)
    (
        Adagrad(0.1, initial_accumulator_value=1.0, epsilon=0.0),
        [1 - 0.1 * 0.5 / math.sqrt(1.25), -2 - 0.1 * 0.25 / math.sqrt(1.0625)],
    ),
    (  # v = 0.1 g^2, delta = sqrt(1e-6) / sqrt(v + 1e-6) * g
        Adadelta(1.0, rho=0.9, epsilon=1e-6),
        [1 - 1e-3 / math.sqrt(0.025 + 1e-6) * 0.5, -2 - 1e-3 / math.sqrt(0.00625 + 1e-6) * 0.25],
    ),
    (RMSprop(0.01, epsilon=0.0), [1 - 0.01 / math.sqrt(0.1), -2 - 0.01 / math.sqrt(0.1)]),
    (  # v - a^2 = 0.1 g^2 - 0.01 g^2 = 0.09 g^2
        RMSprop(0.01, epsilon=0.0, centered=True),
        [1 - 0.01 / 0.3, -2 - 0.01 / 0.3],
    ),
    (
        RMSprop(0.01, momentum=0.9, epsilon=0.0),
        [1 - 0.01 / math.sqrt(0.1), -2 - 0.01 / math.sqrt(0.1)],
    ),
    (Adam(0.1, epsilon=0.0), [0.9, -2.1]),  # m_hat = g, v_hat = g^2
    (Adam(0.1, epsilon=0.0, amsgrad=True), [0.9, -2.1]),
    (Adam(0.1, epsilon=0.5), [1 - 0.1 * 0.5 / 1.0, -2 - 0.1 * 0.25 / 0.75]),
    (AdamW(0.1, epsilon=0.0, weight_decay=0.1), [0.99 - 0.1, -1.98 - 0.1]),  # p *= 1 - 0.01
]


@pytest.mark.parametrize("optimizer, expected", HAND_CASES, ids=lambda x: repr(x)[:60])
def test_first_step_by_hand(optimizer, expected):
    param = np.array([1.0, -2.0])
    optimizer.step([param], [np.array([0.5, 0.25])])
    np.testing.assert_allclose(param, expected, rtol=1e-12)
    assert optimizer.iterations == 1


@pytest.mark.parametrize("make_optimizer", ALL_OPTIMIZERS)
def test_updates_in_place_through_views(make_optimizer):
    """A parameter shared by reference (here a view into a bigger buffer) is updated."""
    buffer = np.zeros((2, 6))
    params, grad_sequence = random_run(shapes=[(2, 3), (3,)], steps=2)
    buffer[:, :3], buffer[0, 3:] = params
    shared = [buffer[:, :3], buffer[0, 3:]]
    expected = [p.copy() for p in params]
    make_optimizer().step(expected, grad_sequence[0])
    optimizer = make_optimizer()
    optimizer.step(shared, grad_sequence[0])
    np.testing.assert_array_equal(buffer[:, :3], expected[0])
    np.testing.assert_array_equal(buffer[0, 3:], expected[1])
    assert not np.array_equal(expected[0], params[0])


@pytest.mark.parametrize("clipping", [{"clipnorm": 0.1}, {"global_clipnorm": 0.1}, {}])
@pytest.mark.parametrize("make_optimizer", ALL_OPTIMIZERS)
def test_never_modifies_callers_grads(make_optimizer, clipping):
    optimizer = optimizers.get({**make_optimizer().get_config(), **clipping})
    params, grad_sequence = random_run(steps=3)
    for grads in grad_sequence:
        originals = [grad.copy() for grad in grads]
        optimizer.step(params, grads)
        for grad, original in zip(grads, originals, strict=True):
            np.testing.assert_array_equal(grad, original)


def test_clipnorm_clips_each_gradient_by_its_own_norm():
    params = [np.zeros(2), np.zeros(2)]
    SGD(1.0, clipnorm=1.0).step(params, [np.array([3.0, 4.0]), np.array([0.3, 0.4])])
    np.testing.assert_allclose(params[0], [-0.6, -0.8], rtol=1e-15)  # norm 5 -> 1
    np.testing.assert_array_equal(params[1], [-0.3, -0.4])  # norm 0.5: unchanged


def test_global_clipnorm_by_hand():
    params = [np.zeros(2), np.zeros(1)]
    grads = [np.array([3.0, 4.0]), np.array([12.0])]  # global norm sqrt(9 + 16 + 144) = 13
    SGD(1.0, global_clipnorm=1.0).step(params, grads)
    coef = 1.0 / (13.0 + 1e-6)  # torch's clip_coef
    np.testing.assert_allclose(params[0], [-3 * coef, -4 * coef], rtol=1e-15)
    np.testing.assert_allclose(params[1], [-12 * coef], rtol=1e-15)
    small = [np.zeros(2), np.zeros(1)]
    SGD(1.0, global_clipnorm=13.1).step(small, grads)  # below the limit: unchanged
    np.testing.assert_array_equal(np.concatenate(small), [-3.0, -4.0, -12.0])


def test_global_clipnorm_matches_torch_clip_grad_norm():
    torch = pytest.importorskip("torch")
    params, grad_sequence = random_run(seed=3, steps=1)
    torch_params = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in params]
    for torch_param, grad in zip(torch_params, grad_sequence[0], strict=True):
        torch_param.grad = torch.tensor(grad)
    torch.nn.utils.clip_grad_norm_(torch_params, max_norm=0.5)
    zeros = [np.zeros_like(p) for p in params]
    SGD(1.0, global_clipnorm=0.5).step(zeros, grad_sequence[0])
    for param, torch_param in zip(zeros, torch_params, strict=True):
        np.testing.assert_allclose(-param, torch_param.grad.numpy(), rtol=1e-14)


def test_only_one_kind_of_clipping():
    with pytest.raises(ValueError, match="clipnorm"):
        SGD(clipnorm=1.0, global_clipnorm=1.0)


@pytest.mark.parametrize("clipping", [{}, {"clipnorm": 0.5}, {"global_clipnorm": 0.5}])
@pytest.mark.parametrize("make_optimizer", ALL_OPTIMIZERS)
def test_float32_params_stay_float32(make_optimizer, clipping):
    optimizer = optimizers.get({**make_optimizer().get_config(), **clipping})
    params, grad_sequence = random_run(dtype=np.float32, steps=3)
    originals = list(params)
    for step, grads in enumerate(grad_sequence):
        if step == 2:  # float64 gradients are cast to the parameter's dtype
            grads = [grad.astype(np.float64) for grad in grads]
        optimizer.step(params, grads)
    for param, original in zip(params, originals, strict=True):
        assert param is original and param.dtype == np.float32
    assert all(
        value.dtype == np.float32
        for key, value in optimizer.get_state().items()
        if key != "iterations"
    )


# ------------------------------------------------------------------ schedules
def test_schedules_by_hand():
    step_decay = StepDecay(0.1, step_size=3, gamma=0.5)
    assert [step_decay(s) for s in range(8)] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rel=1e-15
    )
    exponential = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert exponential(0) == 0.1
    assert exponential(5) == pytest.approx(0.1 * math.sqrt(0.5), rel=1e-15)
    assert exponential(10) == pytest.approx(0.05, rel=1e-15)
    staircase = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [staircase(s) for s in (0, 9, 10, 19, 20)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-15
    )
    cosine = CosineDecay(0.1, decay_steps=10, alpha=0.1)
    assert cosine(0) == pytest.approx(0.1, rel=1e-15)
    assert cosine(5) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1), rel=1e-15)
    assert cosine(10) == pytest.approx(0.01, rel=1e-15)
    assert cosine(25) == pytest.approx(0.01, rel=1e-15)  # stays at alpha * lr (Keras)


def test_schedules_match_torch_formulas():
    """torch StepLR: lr * gamma ** (t // step_size); ExponentialLR: lr * gamma ** t."""
    step_decay = StepDecay(0.3, step_size=4, gamma=0.7)
    exponential = ExponentialDecay(0.3, decay_steps=1, decay_rate=0.7)
    for t in range(30):
        assert step_decay(t) == pytest.approx(0.3 * 0.7 ** (t // 4), rel=1e-15)
        assert exponential(t) == pytest.approx(0.3 * 0.7**t, rel=1e-14)


def test_cosine_decay_matches_torch_cosine_annealing_until_decay_steps():
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.02)
    cosine = CosineDecay(0.2, decay_steps=10, alpha=0.1)
    for t in range(11):
        assert cosine(t) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
        optimizer.step()
        scheduler.step()


def test_optimizer_follows_its_schedule():
    optimizer = SGD(StepDecay(1.0, step_size=2, gamma=0.5))
    param = np.zeros(1)
    for expected_lr in [1.0, 1.0, 0.5, 0.5, 0.25]:
        assert optimizer.current_learning_rate() == expected_lr
        before = param.copy()
        optimizer.step([param], [np.ones(1)])
        assert before - param == pytest.approx(expected_lr)
    lambda_schedule = SGD(lambda step: 0.1 / (step + 1))
    lambda_schedule.step([param], [np.ones(1)])
    assert lambda_schedule.current_learning_rate() == pytest.approx(0.05)


def test_schedule_get_config_round_trip():
    for schedule in (StepDecay(0.1, 3), ExponentialDecay(0.1, 7, 0.5, True), CosineDecay(1.0, 9)):
        config = json.loads(json.dumps(schedule.get_config()))
        rebuilt = schedules.get(config)
        assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
        assert [rebuilt(s) for s in range(12)] == [schedule(s) for s in range(12)]
    with pytest.raises(ValueError, match="StepDecay"):
        schedules.get({"class_name": "StepDecy", "initial_learning_rate": 0.1, "step_size": 1})


# ------------------------------------------------------------------ get / config / state
def test_get_by_name_instance_and_config():
    assert isinstance(optimizers.get("adam"), Adam)
    assert isinstance(optimizers.get("RMSprop"), RMSprop)
    assert optimizers.get("sgd", learning_rate=0.5, momentum=0.9).momentum == 0.9
    instance = AdamW()
    assert optimizers.get(instance) is instance
    for name in ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw"):
        assert type(optimizers.get(name)).__name__.lower() == name
    with pytest.raises(ValueError, match="keyword"):
        optimizers.get(instance, learning_rate=0.1)
    with pytest.raises(ValueError, match="Optimizer"):
        optimizers.get(3)


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError) as error:
        optimizers.get("adm")
    message = str(error.value)
    assert "did you mean 'adam'" in message
    for name in ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw"):
        assert name in message


@pytest.mark.parametrize("make_optimizer", ALL_OPTIMIZERS)
def test_get_config_round_trip(make_optimizer):
    optimizer = make_optimizer()
    config = json.loads(json.dumps(optimizer.get_config()))
    rebuilt = optimizers.get(config)
    assert type(rebuilt) is type(optimizer) and rebuilt.get_config() == optimizer.get_config()


def test_get_config_with_schedule_round_trip():
    optimizer = Adam(CosineDecay(0.01, 100, alpha=0.1), amsgrad=True, clipnorm=1.0)
    config = json.loads(json.dumps(optimizer.get_config()))
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    rebuilt = optimizers.get(config)
    assert isinstance(rebuilt.learning_rate, CosineDecay)
    assert rebuilt.get_config() == optimizer.get_config()
    with pytest.raises(TypeError, match="get_config"):
        SGD(lambda step: 0.1).get_config()


@pytest.mark.parametrize("make_optimizer", ALL_OPTIMIZERS)
def test_state_round_trip_through_npz_continues_identically(make_optimizer):
    params, grad_sequence = random_run(steps=8)
    original = make_optimizer()
    for grads in grad_sequence[:4]:
        original.step(params, grads)
    buffer = io.BytesIO()
    np.savez(buffer, **original.get_state())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        restored = make_optimizer()
        restored.set_state(dict(saved))
    restored_params = [p.copy() for p in params]
    assert restored.iterations == 4
    for grads in grad_sequence[4:]:
        original.step(params, grads)
        restored.step(restored_params, grads)
        for param, restored_param in zip(params, restored_params, strict=True):
            np.testing.assert_array_equal(param, restored_param)


def test_set_state_validates_names_and_shapes():
    params, grad_sequence = random_run(steps=1)
    optimizer = Adam()
    optimizer.step(params, grad_sequence[0])
    state = optimizer.get_state()
    with pytest.raises(ValueError, match="iterations"):
        Adam().set_state({k: v for k, v in state.items() if k != "iterations"})
    with pytest.raises(ValueError, match="0/momentum"):
        Adam().set_state({**state, "0/momentum": state["0/exp_avg"]})
    with pytest.raises(ValueError, match="1/exp_avg_sq"):
        Adam().set_state({k: v for k, v in state.items() if k != "1/exp_avg_sq"})
    with pytest.raises(ValueError, match="shape"):
        optimizer.set_state({**state, "0/exp_avg": np.zeros(3), "0/exp_avg_sq": np.zeros(3)})
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        Adam(amsgrad=True).set_state(
            {"iterations": np.array(1), "0/exp_avg": np.zeros(3), "0/exp_avg_sq": np.zeros(3)}
        )
    fresh = Adam()  # checked against the params on its first step
    fresh.set_state({**state, "0/exp_avg": np.zeros(3), "0/exp_avg_sq": np.zeros(3)})
    with pytest.raises(ValueError, match=r"params\[0\]"):
        fresh.step(params, grad_sequence[0])


def test_step_validates_its_arguments():
    params, grad_sequence = random_run(steps=1)
    grads = grad_sequence[0]
    with pytest.raises(ValueError, match="3 params but 2 grads"):
        SGD().step(params, grads[:2])
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        SGD().step(params, [grads[0], np.zeros(4), grads[2]])
    with pytest.raises(ValueError, match=r"params\[0\]"):
        SGD().step([np.zeros(2, dtype=int)], [np.zeros(2)])
    optimizer = Adam()
    optimizer.step(params, grads)
    with pytest.raises(ValueError, match="same params"):
        optimizer.step(params[:2], grads[:2])


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: SGD(learning_rate=-0.1), "learning_rate"),
        (lambda: SGD(learning_rate=float("nan")), "learning_rate"),
        (lambda: SGD(learning_rate="0.1"), "learning_rate"),
        (lambda: SGD(momentum=1.5), "momentum"),
        (lambda: SGD(nesterov=True), "nesterov"),
        (lambda: SGD(weight_decay=-1.0), "weight_decay"),
        (lambda: SGD(clipnorm=0.0), "clipnorm"),
        (lambda: SGD(global_clipnorm=-1.0), "global_clipnorm"),
        (lambda: Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
        (lambda: Adagrad(epsilon=-1e-7), "epsilon"),
        (lambda: Adadelta(rho=1.0), "rho"),
        (lambda: RMSprop(rho=-0.1), "rho"),
        (lambda: RMSprop(momentum=1.0), "momentum"),
        (lambda: RMSprop(centered=1), "centered"),
        (lambda: Adam(beta_1=1.0), "beta_1"),
        (lambda: Adam(beta_2=-0.5), "beta_2"),
        (lambda: Adam(amsgrad="yes"), "amsgrad"),
        (lambda: AdamW(weight_decay=-0.01), "weight_decay"),
        (lambda: StepDecay(0.1, step_size=0), "step_size"),
        (lambda: StepDecay(0.0, step_size=1), "initial_learning_rate"),
        (lambda: ExponentialDecay(0.1, 10, decay_rate=0.0), "decay_rate"),
        (lambda: CosineDecay(0.1, decay_steps=0), "decay_steps"),
        (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, argument):
    with pytest.raises(ValueError, match=argument) as error:
        make()
    assert "got" in str(error.value)


def test_bad_schedule_output_is_reported():
    with pytest.raises(ValueError, match="schedule returned"):
        SGD(lambda step: -1.0).step([np.zeros(1)], [np.ones(1)])
