"""spikegym/AcrobotSwingUp-v0 and spikegym/AcrobotForwardModel-v0: the acrobot's mechanics, the swing-up task and
its expert, the forward model's torque protocols, and both native vector envs against SyncVectorEnv."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers spikegym/*)
from envs.acrobot import (
    MAX_TORQUE,
    Acrobot,
    AcrobotForwardModelEnv,
    AcrobotSwingUpEnv,
    AcrobotSwingUpExpert,
)
from envs.forward_model import rk4_step

SWING_UP = "spikegym/AcrobotSwingUp-v0"
FORWARD = "spikegym/AcrobotForwardModel-v0"
ACROBOT = Acrobot()
RESET_KEYS = {"expert_action", "tip_height", "energy", "state", "success", "expert_in_control", "t_ms"}


def run(x0, seconds, torque=0.0, dt=1e-3):
    """States every ``dt`` under a constant (or per-step) torque, RK4 as the envs integrate."""
    n = round(seconds / dt)
    torques = np.broadcast_to(np.asarray(torque, dtype=float), (n,))
    x, states = np.array([x0], dtype=float), [np.array(x0, dtype=float)]
    for k in range(n):
        x = rk4_step(ACROBOT, x, np.array([[torques[k]]]), dt)
        states.append(x[0])
    return np.array(states)


# Mechanics.


def test_without_torque_the_energy_is_conserved():
    for x0 in ((1.2, -0.8, 0.0, 2.0), (2.5, 1.0, 3.0, -4.0)):  # a swing, and a state that whirls
        states = run(x0, seconds=3.0)
        energy = ACROBOT.energy(states)
        assert np.ptp(states[:, 0]) > 1.0
        assert np.abs(energy - energy[0]).max() < 1e-8 * ACROBOT.upright_energy


def test_the_torque_changes_the_energy_at_the_rate_w2_tau():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=(2.0, 2.0, 3.0, 3.0), size=(20, 4))
    tau = rng.uniform(-MAX_TORQUE, MAX_TORQUE, size=(20, 1))
    flow = ACROBOT.derivative(x, tau)
    eps = 1e-6
    rate = (ACROBOT.energy(x + eps * flow) - ACROBOT.energy(x - eps * flow)) / (2 * eps)
    np.testing.assert_allclose(rate, x[:, 3] * tau[:, 0], rtol=1e-6, atol=1e-6)
    # Integrated: over a step with the torque held, E changes by tau (q2(t + dt) - q2(t)).
    torques = np.repeat(rng.uniform(-MAX_TORQUE, MAX_TORQUE, size=40), 50)
    states = run((0.3, -0.2, 0.0, 1.0), seconds=2.0, torque=torques)
    np.testing.assert_allclose(np.diff(ACROBOT.energy(states)), torques * np.diff(states[:, 1]), atol=1e-9)
    assert ACROBOT.energy(states)[-1] - ACROBOT.energy(states)[0] != pytest.approx(0.0, abs=0.1)


def test_hanging_still_stays_still_and_upright_is_an_unstable_equilibrium():
    np.testing.assert_array_equal(run((0, 0, 0, 0), seconds=1.0), 0.0)
    np.testing.assert_allclose(ACROBOT.derivative(np.array([[math.pi, 0.0, 0, 0]]), np.zeros((1, 1))), 0.0, atol=1e-12)
    falling = run((math.pi - 0.01, 0.0, 0.0, 0.0), seconds=1.5)
    assert np.abs(falling[-1, 0] - math.pi) > 0.1  # from 0.01 rad off
    assert ACROBOT.energy(np.zeros(4)) == pytest.approx(ACROBOT.rest_energy) == pytest.approx(-19.6)
    assert ACROBOT.energy(np.array([math.pi, 0, 0, 0])) == pytest.approx(19.6)


def test_the_dynamics_equal_sutton_and_bartos_equations():
    # Sutton & Barto (1998), Sec. 11.3, with theta1 from hanging down, written out independently here.
    m1 = m2 = l1 = 1.0
    lc1 = lc2 = 0.5
    i1 = i2 = 1.0
    g = 9.8
    rng = np.random.default_rng(1)
    for t1, t2, d_t1, d_t2, tau in rng.normal(scale=(3, 3, 4, 4, 3), size=(25, 5)):
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * math.cos(t2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * math.cos(t2)) + i2
        phi2 = m2 * lc2 * g * math.cos(t1 + t2 - math.pi / 2)
        phi1 = (
            -m2 * l1 * lc2 * d_t2**2 * math.sin(t2)
            - 2 * m2 * l1 * lc2 * d_t2 * d_t1 * math.sin(t2)
            + (m1 * lc1 + m2 * l1) * g * math.cos(t1 - math.pi / 2)
            + phi2
        )
        dd_t2 = (tau + d2 / d1 * phi1 - m2 * l1 * lc2 * d_t1**2 * math.sin(t2) - phi2) / (m2 * lc2**2 + i2 - d2**2 / d1)
        dd_t1 = -(d2 * dd_t2 + phi1) / d1
        got = ACROBOT.derivative(np.array([[t1, t2, d_t1, d_t2]]), np.array([[tau]]))[0]
        np.testing.assert_allclose(got, [d_t1, d_t2, dd_t1, dd_t2], rtol=1e-10, atol=1e-10)


def test_mass_matrix_tip_height_and_the_partial_feedback_linearisation():
    m11, m12, m22 = ACROBOT.mass_matrix(np.zeros(2))
    assert (m11, m12, m22) == pytest.approx((4.5, 1.75, 1.25))
    q = np.random.default_rng(2).normal(scale=3.0, size=(30, 2))
    m11, m12, m22 = ACROBOT.mass_matrix(q)
    assert np.all(m11 > 0) and np.all(m11 * m22 - m12**2 > 0)  # positive definite
    assert ACROBOT.tip_height(np.zeros(4)) == pytest.approx(-2.0)
    assert ACROBOT.tip_height(np.array([math.pi, 0.0])) == pytest.approx(2.0)
    elbow, tip = ACROBOT.joints(np.array([math.pi / 2, math.pi / 2]))
    np.testing.assert_allclose(elbow, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(tip, [1.0, 1.0], atol=1e-12)  # on the success line
    x = np.column_stack((q, np.random.default_rng(3).normal(scale=3.0, size=(30, 2))))
    wanted = np.linspace(-5, 5, 30)
    tau = ACROBOT.elbow_torque(x, wanted)
    np.testing.assert_allclose(ACROBOT.derivative(x, tau[:, None])[:, 3], wanted, atol=1e-10)


# The swing-up task.


@pytest.fixture
def all_gymnasium_warnings(monkeypatch):
    monkeypatch.setattr(gym.logger, "min_level", gym.logger.WARN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


@pytest.mark.parametrize("env_id", [SWING_UP, FORWARD])
def test_gymnasium_and_stable_baselines3_checkers_pass_without_warnings(env_id, all_gymnasium_warnings):
    env = gym.make(env_id)
    check_env(env.unwrapped)  # re-makes the env in every render mode too
    sb3_check_env(gym.make(env_id).unwrapped, warn=True)
    assert [str(w.message) for w in all_gymnasium_warnings] == []


def test_reset_starts_hanging_with_a_small_perturbation_and_describes_it():
    env = gym.make(SWING_UP)
    obs, info = env.reset(seed=4)
    assert env.observation_space.contains(obs) and obs.dtype == np.float32
    assert set(info) == RESET_KEYS and not info["success"] and info["t_ms"] == 0.0
    x = info["state"]
    assert x.shape == (4,) and np.abs(x).max() <= 0.1 and np.abs(x).max() > 0
    expected = [
        math.cos(x[0]),
        math.sin(x[0]),
        math.cos(x[1]),
        math.sin(x[1]),
        x[2] / (4 * math.pi),
        x[3] / (9 * math.pi),
    ]
    np.testing.assert_allclose(obs, expected, rtol=1e-6, atol=1e-7)
    assert info["tip_height"] == pytest.approx(ACROBOT.tip_height(x)) and info["energy"] == pytest.approx(
        ACROBOT.energy(x)
    )
    np.testing.assert_array_equal(info["expert_action"], env.unwrapped.expert(obs))
    assert info["expert_action"].dtype == np.float32 and info["expert_action"].shape == (1,)


def test_reward_is_minus_one_per_step_and_the_time_limit_truncates():
    env = gym.make(SWING_UP, time_limit_s=0.5)
    env.reset(seed=0)
    rewards, ends = [], []
    for _ in range(50):
        _, reward, terminated, truncated, info = env.step(np.zeros(1))
        rewards.append(reward)
        ends.append((terminated, truncated))
    assert rewards == [-1.0] * 50 and ends[-1] == (False, True) and set(ends[:-1]) == {(False, False)}
    assert info["is_success"] is False and info["t_ms"] == pytest.approx(500.0)
    assert set(info) == RESET_KEYS | {"target", "is_success"}


def test_a_zero_torque_agent_never_succeeds():
    envs_ = gym.make_vec(SWING_UP, num_envs=20, vectorization_mode="vector_entry_point", autoreset_mode="Disabled")
    envs_.reset(seed=0)
    highest = np.full(20, -np.inf)
    for _ in range(1000):
        _, rewards, terminated, truncated, info = envs_.step(np.zeros((20, 1)))
        highest = np.maximum(highest, info["tip_height"])
        assert not terminated.any() and np.all(rewards == -1.0)
    assert truncated.all() and not info["is_success"].any()
    assert highest.max() < -1.9  # no energy comes in: the perturbation's small swing


def test_the_expert_swings_up_within_the_time_limit_from_at_least_95_of_100_starts():
    # The expert acts through the agent's action, as a pure function of the observation; seeds 0-99, the first
    # episode of each copy (SAME_STEP restarts a finished copy; its next episode is not counted).
    envs_ = gym.make_vec(SWING_UP, num_envs=100, vectorization_mode="vector_entry_point")
    expert = envs_.unwrapped.expert
    obs, _ = envs_.reset(seed=0)
    time_s = np.full(100, np.nan)
    for step in range(1, 1001):
        obs, _, terminated, truncated, _ = envs_.step(expert(obs))
        first = np.isnan(time_s)
        time_s[first & terminated] = step * 0.01
        time_s[first & truncated] = np.inf
        if not np.isnan(time_s).any():
            break
    assert not np.isnan(time_s).any()  # every first episode ended within the 1000 steps
    succeeded = np.isfinite(time_s)
    print(f"expert: {succeeded.mean():.0%} swing-ups, mean {time_s[succeeded].mean():.2f} s, max {time_s.max():.2f} s")
    assert succeeded.mean() >= 0.95
    assert time_s[succeeded].mean() < 5.0
    # The single env with the same seed runs the same episode.
    env = gym.make(SWING_UP)
    obs, _ = env.reset(seed=int(np.argmax(time_s)))
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, _ = env.step(expert(obs))
        steps, done = steps + 1, terminated or truncated
    assert terminated and steps * 0.01 == pytest.approx(time_s.max())


def test_info_target_is_the_expert_action_on_the_previous_observation():
    env = gym.make(SWING_UP).unwrapped
    expert = env.expert
    obs, info = env.reset(seed=5)
    assert "target" not in info
    rng = np.random.default_rng(0)
    for _ in range(150):
        previous = obs
        obs, _, terminated, truncated, info = env.step(rng.uniform(-1, 1, size=1).astype(np.float32))
        np.testing.assert_array_equal(info["target"], expert(previous))
        np.testing.assert_array_equal(info["expert_action"], expert(obs))
        assert info["target"].dtype == np.float32 and info["target"].shape == (1,)
        assert terminated is False and truncated is False
    # The expert works on a batch as on single observations, and its actions are in [-1, 1].
    batch = np.random.default_rng(1).uniform(-1, 1, size=(64, 6)).astype(np.float32)
    actions = expert(batch)
    assert actions.shape == (64, 1) and actions.dtype == np.float32 and np.abs(actions).max() <= 1.0
    np.testing.assert_array_equal(actions[7], expert(batch[7]))
    with pytest.raises(ValueError, match=r"shape \(6,\) or \(B, 6\)"):
        expert(np.zeros(4))


def test_expert_control_one_ignores_the_agent_and_is_drawn_per_episode():
    rng = np.random.default_rng(0)
    demo_random = gym.make(SWING_UP, expert_control=1.0)
    demo_zero = gym.make(SWING_UP, expert_control=1.0)
    imitated = gym.make(SWING_UP)  # the expert's actions executed by the agent
    a, info_a = demo_random.reset(seed=3)
    b, _ = demo_zero.reset(seed=3)
    c, info_c = imitated.reset(seed=3)
    assert info_a["expert_in_control"] is True and info_c["expert_in_control"] is False
    for _ in range(120):
        expert_action = demo_random.unwrapped.expert(a)
        a, ra, *_, info_a = demo_random.step(rng.uniform(-1, 1, size=1))
        b, rb, *_ = demo_zero.step(np.zeros(1))
        c, rc, *_, info_c = imitated.step(expert_action)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(info_a["state"], info_c["state"])
        assert ra == rb == rc
    half = gym.make(SWING_UP, expert_control=0.5)
    drawn = [half.reset(seed=s)[1]["expert_in_control"] for s in range(40)]
    assert 5 < sum(drawn) < 35


def test_same_seed_same_episode_and_other_seeds_differ():
    actions = np.random.default_rng(0).uniform(-1, 1, size=(200, 1)).astype(np.float32)

    def play(seed):
        env = gym.make(SWING_UP)
        out = [env.reset(seed=seed)]
        out += [env.step(action) for action in actions]
        return out

    assert data_equivalence(play(7), play(7), exact=True)
    assert not np.array_equal(play(7)[0][0], play(8)[0][0])


def test_out_of_range_actions_are_clipped_and_the_control_step_splits_into_1_ms_substeps():
    one, clipped = gym.make(SWING_UP), gym.make(SWING_UP)
    one.reset(seed=0)
    clipped.reset(seed=0)
    np.testing.assert_array_equal(one.step(np.ones(1))[0], clipped.step(np.full(1, 7.0))[0])
    np.testing.assert_array_equal(one.step(-np.ones(1))[0], clipped.step(-3.0)[0])  # a scalar is accepted
    coarse, fine = gym.make(SWING_UP, dt_ms=10.0), gym.make(SWING_UP, dt_ms=1.0)
    assert coarse.unwrapped.dt == pytest.approx(0.01) and fine.unwrapped._task.max_steps == 10_000
    x0 = coarse.reset(seed=2)[1]["state"]
    np.testing.assert_array_equal(fine.reset(seed=2)[1]["state"], x0)
    for _ in range(3):
        x_coarse = coarse.step(np.full(1, 0.6))[4]["state"]
        for _ in range(10):
            x_fine = fine.step(np.full(1, 0.6))[4]["state"]
    np.testing.assert_allclose(x_coarse, x_fine, rtol=1e-12, atol=1e-12)
    torque = gym.make(SWING_UP, max_torque=2.0, time_limit_s=0.1)
    torque.reset(seed=0)
    torque.step(np.ones(1))
    assert torque.unwrapped._copies.torque[0, 0] == 2.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dt_ms": 0.0}, "dt_ms must be a finite number > 0"),
        ({"dt_ms": float("nan")}, "dt_ms must be a finite number > 0"),
        ({"time_limit_s": -1.0}, "time_limit_s must be a finite number > 0"),
        ({"success_height": 2.5}, "success_height must be a finite number > -2 and <= 2"),
        ({"max_torque": 0.0}, "max_torque must be a finite number > 0"),
        ({"expert_control": 1.5}, "expert_control must be a finite number >= 0 and <= 1"),
        ({"expert_control": True}, "expert_control must be a finite number"),
        ({"start_noise": -0.1}, "start_noise must be a finite number >= 0"),
        ({"render_mode": "ascii"}, "render_mode must be None or one of"),
    ],
)
def test_bad_arguments_raise_errors_that_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AcrobotSwingUpEnv(**kwargs)
    if "render_mode" not in kwargs:
        with pytest.raises(ValueError, match=match):
            gym.make_vec(SWING_UP, 2, vectorization_mode="vector_entry_point", **kwargs)


def test_bad_actions_and_misuse_raise_clear_errors():
    env = AcrobotSwingUpEnv(time_limit_s=0.05)
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        env.step(np.zeros(1))
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(options={"start": "up"})
    env.reset(seed=0)
    for bad, match in (
        (np.zeros(2), r"shape \(1,\)"),
        (np.zeros((1, 1, 1)), r"shape \(1,\)"),
        (np.full(1, np.nan), "NaN/inf"),
        (np.full(1, np.inf), "NaN/inf"),
        ("up", "must be numeric"),
    ):
        with pytest.raises(ValueError, match=match):
            env.step(bad)
    for _ in range(5):
        env.step(np.zeros(1))
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.zeros(1))


@pytest.mark.parametrize("render_mode", ["rgb_array", "human"])
@pytest.mark.parametrize(
    ("env_id", "kwargs", "shape"),
    [
        (SWING_UP, {"expert_control": 1.0}, (560, 960, 3)),
        (FORWARD, {"trial_ms": 500.0, "clamp_ms": 50.0}, (600, 960, 3)),
    ],
)
def test_rendering_draws_the_acrobot(env_id, kwargs, shape, render_mode):
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    _, info = env.reset(seed=0)
    for _ in range(60):
        action = info.get("target", np.zeros(env.action_space.shape, dtype=np.float32))
        *_, info = env.step(np.clip(action + 0.05, -1, 1))
    frame = env.render()
    if render_mode == "rgb_array":
        assert frame.dtype == np.uint8 and frame.shape == shape
        assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 50
    else:
        assert frame is None
    env.close()
    env.close()


def assert_same(native, sync):
    for a, b in zip(native, sync, strict=True):
        assert data_equivalence(a, b, exact=True), f"native {a}\nsync   {b}"


# Short episodes that end both ways: the line low enough to be reached in some, a short time limit in others.
SWING_UP_SHORT = {"success_height": -1.6, "time_limit_s": 0.4, "expert_control": 0.5}
FORWARD_SHORT = {"trial_ms": 100.0, "clamp_ms": 20.0, "trials_per_episode": 2}


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        (SWING_UP, SWING_UP_SHORT),
        (FORWARD, FORWARD_SHORT),
        (FORWARD, {**FORWARD_SHORT, "input_protocol": "noise", "clamp_ms": 0.0}),
    ],
)
def test_vector_env_matches_sync_vector_env_step_for_step(env_id, kwargs, autoreset_mode):
    kwargs = {"num_envs": 3, **kwargs}
    native = gym.make_vec(env_id, vectorization_mode="vector_entry_point", autoreset_mode=autoreset_mode, **kwargs)
    sync = gym.make_vec(env_id, vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset_mode}, **kwargs)
    assert type(native.unwrapped).__name__.endswith("VectorEnv") and native.metadata["autoreset_mode"] == autoreset_mode
    assert native.single_action_space == sync.single_action_space
    assert native.observation_space == sync.observation_space
    rng = np.random.default_rng(0)
    ends = 0
    for reset_kwargs, steps in (({"seed": 7}, 230), ({}, 40), ({"seed": [1, None, 3]}, 70)):
        assert_same(native.reset(**reset_kwargs), sync.reset(**reset_kwargs))
        for _ in range(steps):
            actions = rng.uniform(-1.2, 1.2, size=native.action_space.shape).astype(np.float32)
            result = native.step(actions)
            assert_same(result, sync.step(actions))
            ends += int((result[2] | result[3]).sum())
    assert ends >= 3
    native.close()
    sync.close()


def test_swing_up_vector_env_ends_both_ways_and_disabled_autoreset_matches_sync_with_reset_masks():
    kwargs = {"num_envs": 4, **SWING_UP_SHORT}
    native = gym.make_vec(SWING_UP, vectorization_mode="vector_entry_point", autoreset_mode="Disabled", **kwargs)
    sync = gym.make_vec(SWING_UP, vectorization_mode="sync", vector_kwargs={"autoreset_mode": "Disabled"}, **kwargs)
    assert_same(native.reset(seed=0), sync.reset(seed=0))
    terminated = truncated = np.zeros(4, dtype=bool)
    actions = np.ones((4, 1), dtype=np.float32)
    while not (terminated | truncated).any():
        result = native.step(actions)
        assert_same(result, sync.step(actions))
        _, _, terminated, truncated, info = result
    np.testing.assert_array_equal(info["_is_success"], terminated | truncated)
    np.testing.assert_array_equal(info["is_success"], terminated)
    with pytest.raises(RuntimeError, match="reset_mask"):
        native.step(actions)
    mask = terminated | truncated
    assert_same(native.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask}))
    assert_same(native.step(actions), sync.step(actions))
    with pytest.raises(ValueError, match="does not render"):
        gym.make_vec(SWING_UP, 2, vectorization_mode="vector_entry_point", render_mode="rgb_array")
    with pytest.raises(ValueError, match="autoreset_mode must be"):
        gym.make_vec(SWING_UP, 2, vectorization_mode="vector_entry_point", autoreset_mode="Sometimes")
    with pytest.raises(ValueError, match="NaN/inf"):
        native.step(np.full((4, 1), np.nan))
    with pytest.raises(ValueError, match="shape"):
        native.step(np.zeros((3, 1)))


# The forward model.


def test_the_swing_input_is_the_experts_closed_loop_up_to_the_line_then_a_damped_swing_down():
    env = gym.make(FORWARD).unwrapped
    obs, info = env.reset(seed=1)
    up = AcrobotSwingUpExpert()
    states, torques = [info["state"]], [obs[0] / 0.04]
    for _ in range(env._task.n_steps):
        obs, *_, info = env.step(np.zeros(4))
        states.append(info["state"])
        torques.append(obs[0] / 0.04)
    states, torques = np.array(states), np.array(torques[:-1], dtype=np.float64)
    height = ACROBOT.tip_height(states)
    crossing = int(np.argmax(height >= 1.0))  # the first state on the line
    assert 2500 < crossing < 4500  # about 3.2 s
    assert abs(torques[0]) >= 2.5 and np.all(torques[:100] == torques[0])  # the kick
    expert = up.torque(states[100:crossing])
    np.testing.assert_allclose(torques[100:crossing], expert, atol=1e-5)  # the observation is float32
    damping = np.clip(-3.0 * states[crossing:7500, 3], -5.0, 5.0)
    np.testing.assert_allclose(torques[crossing:7500], damping, atol=1e-5)
    assert np.all(torques[7500:] == 0.0) and np.abs(states[-1]).max() < 1e-12  # the clamp
    assert ACROBOT.energy(states[7499]) < ACROBOT.energy(states[crossing]) - 10.0  # it swung down
    targets = states * ACROBOT.state_factors
    assert np.abs(targets).max(axis=0) == pytest.approx([0.3, 0.5, 0.38, 0.77], abs=0.05)  # documented ranges
    np.testing.assert_allclose(info["target"], (states[-1] * ACROBOT.state_factors).astype(np.float32))


def test_the_swing_closed_loop_replayed_carries_the_exact_state_into_the_next_trial():
    env = gym.make(FORWARD, trial_ms=1000.0, clamp_ms=0.0, trials_per_episode=2).unwrapped
    env.reset(seed=0)
    for _ in range(999):
        env.step(np.zeros(4))
    carry = env._copies.carry[0].copy()  # the closed loop's state at the trial's end, simulated when it was drawn
    *_, info = env.step(np.zeros(4))  # the trial's last step; the next trial is drawn from the carry
    assert np.abs(info["state"]).max() > 0.1
    np.testing.assert_allclose(carry, info["state"], rtol=0, atol=1e-9)


def test_the_noise_input_is_noise_and_heights_interpolated_within_5_newton_metres():
    env = gym.make(FORWARD, input_protocol="noise", trial_ms=1000.0, clamp_ms=0.0, trials_per_episode=3)
    observations = [env.reset(seed=2)[0]]
    for _ in range(2999):
        observations.append(env.step(np.zeros(4))[0])
    torque = np.array(observations, dtype=np.float64)[:, 0] / 0.04
    assert np.abs(torque).max() <= 5.0 + 1e-4 and np.abs(torque).max() > 2.5
    step = np.abs(np.diff(torque)).max()
    assert step <= 5.0 / 50 + 5.0 / 1000 + 1e-4  # no jumps, trial boundaries included
    bends = np.flatnonzero(np.abs(np.diff(torque, 2)) > 1e-4) + 1
    assert set(bends) <= set(range(0, 3000, 50))  # straight between the 50-ms noise points
    default = gym.make(FORWARD, input_protocol="noise").unwrapped
    assert default._task.trial_steps == 4000 and default._task.clamp_ms == 500.0


def test_forward_model_reward_target_and_spaces_are_in_network_units():
    env = gym.make(FORWARD, **FORWARD_SHORT).unwrapped
    assert env.observation_space == gym.spaces.Box(-0.2, 0.2, (1,), np.float32)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    _, info = env.reset(seed=3)
    np.testing.assert_array_equal(info["state"], 0.0)
    factors = np.array([1 / (2 * math.pi), 1 / (2 * math.pi), 0.1, 0.1])
    rng = np.random.default_rng(0)
    for _ in range(200):
        action = rng.uniform(-0.3, 0.3, size=4)
        _, reward, _, _, info = env.step(action)
        assert reward == pytest.approx(-np.mean((action - factors * info["state"]) ** 2), rel=1e-9)
        np.testing.assert_allclose(info["target"], (factors * info["state"]).astype(np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_protocol": "ramp"}, "input_protocol must be one of"),
        ({"trial_ms": 1010.0}, "multiple of the 50-ms noise interval"),
        ({"trial_ms": 1000.0, "clamp_ms": 1000.0}, "clamp_ms must be shorter"),
        ({"dt_ms": -1.0}, "dt_ms must be a finite number > 0"),
        ({"trials_per_episode": 0}, "trials_per_episode must be an integer"),
    ],
)
def test_forward_model_bad_arguments_raise_errors_that_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AcrobotForwardModelEnv(**kwargs)
