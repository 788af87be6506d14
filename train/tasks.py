"""What the training side knows about each task: its per-episode metrics, its probe episodes, its summary.

Everything else about a task comes from Gymnasium (spaces, ``dt_ms``, rendering). A task missing here gets
the generic profile: returns and lengths only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TaskProfile:
    """Training-side description of a task."""

    episode_metrics: tuple[str, ...] = ()
    """Keys of the last step's info recorded per episode (besides return and length)."""
    curve_metric: str = "return"
    """The per-episode column drawn as the learning curve."""
    lower_is_better: bool = False
    """Whether a smaller ``curve_metric`` is better (errors) or a larger one (returns)."""
    other_curve_metrics: tuple[str, ...] = ()
    """Episode metrics the evaluation figure draws beside ``curve_metric``, on its axis (FOLLOW: the MSE
    against the reference through the output's synapse beside the MSE against the raw reference)."""
    metric_labels: Mapping[str, str] = field(default_factory=dict)
    """What the evaluation figure's legend calls a metric (default: its key)."""
    probe_options: Sequence[Mapping[str, Any]] = field(default_factory=lambda: [{}])
    """``reset(options=...)`` of the probe episodes recorded before and after learning (one per condition)."""
    probe_names: Sequence[str] = ("episode",)
    """A label per probe episode."""
    probe_env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Env arguments of the probe episodes over the run's (a short ``duration_s`` for hour-long episodes)."""
    eval_env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Env arguments of the evaluation episodes over the run's (FOLLOW's forward models are tested on another
    input protocol than they learn on)."""
    fixed_eval_seed: bool = False
    """Every evaluation of a run uses the same env seed (one test input, as FOLLOW's tests), not a new one."""
    evaluation_summary: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    """Headline figures from the evaluation rows (after_episodes, seed, the episode metrics, the agent's metrics)."""
    probe_figure: str = "outputs"
    """How ``plot`` draws the probes: "outputs" (each output against its target per condition), "states"
    (a forward model's predicted state against the reference, dimension by dimension, and the input) or
    "control" (a closed-loop episode's actions against the expert's, before and after learning)."""
    summary: Callable[[Mapping[str, np.ndarray]], dict[str, Any]] | None = None
    """Headline figures from the per-seed metric arrays (each (n_seeds, n_episodes))."""
    count_metric: str | None = None
    """A per-episode count (the readout's spikes) that ``plot`` draws per condition, at the first and the last
    evaluation (counts.png); the condition is the key of ``probe_options``, named by ``probe_names``."""
    sample_every_s: float = 0.0
    """Sample ``agent.metrics()`` every this many simulated seconds (0: never), into samples.csv."""
    sample_summary: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    """Headline figures from the samples (rows with seed, t_s and the agent's metrics)."""
    eval_seeds: Sequence[int] | None = None
    """Evaluations play these seeded episodes, episode k of every network with seed ``eval_seeds[k]`` (closed-loop
    tasks: the expert's reported return is on the same episodes), instead of fresh seeds from the eval base."""
    validation_seeds: Sequence[int] | None = None
    """The seeded episodes a run's ``keep_best`` selection is made on, disjoint from ``eval_seeds`` (a network is
    not chosen on the episodes it is reported on); None: seeds from ``VALIDATION_SEED_BASE`` on."""
    task_from_seed: bool = False
    """The seed fixes the task (store and recall of one trajectory): probes, evaluations and renders reuse the
    training seeds instead of fresh ones."""


def trials_to_criterion(
    errors: np.ndarray, threshold: float = 1.0, window: int = 100, fraction: float = 0.95
) -> np.ndarray:
    """Trials until at least ``fraction`` of the last ``window`` trials had error < ``threshold``.

    Miconi (2017): criterion = 95 of 100 consecutive trials with error < 1. ``errors`` is
    (n_seeds, n_trials); the result is the 1-based trial count at which the criterion is first met, NaN
    for seeds that never meet it.
    """
    errors = np.atleast_2d(np.asarray(errors, dtype=float))
    good = (errors < threshold).astype(np.int64)
    needed = int(np.ceil(fraction * window - 1e-9))
    out = np.full(errors.shape[0], np.nan)
    if errors.shape[1] < window:
        return out
    csum = np.concatenate([np.zeros((errors.shape[0], 1), np.int64), np.cumsum(good, axis=1)], axis=1)
    in_window = csum[:, window:] - csum[:, :-window]  # trials window-1 .. end, each over its last `window`
    for seed, row in enumerate(in_window >= needed):
        hits = np.flatnonzero(row)
        if hits.size:
            out[seed] = hits[0] + window
    return out


def _quartiles(values: np.ndarray, budget: int | None = None) -> dict[str, float | None]:
    """Median and quartiles; NaN entries (never reached within ``budget``) count as larger than the budget,
    and a quartile that falls on them is None ("not reached")."""
    values = np.asarray(values, dtype=float)
    if budget is not None:
        values = np.where(np.isnan(values), budget + 1.0, values)
    limit = np.inf if budget is None else budget
    linear = np.percentile(values, [25, 50, 75])
    upper = np.percentile(values, [25, 50, 75], method="higher")  # a quantile that leans on an unreached seed
    q25, med, q75 = (v if u <= limit else np.nan for v, u in zip(linear, upper, strict=True))

    def shown(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    return {"median": shown(med), "q25": shown(q25), "q75": shown(q75)}


def dnms_summary(metrics: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Miconi (2017) Fig. 1B figures: trials to criterion (error < 1, and < 0.5) and the final error."""
    errors = np.asarray(metrics["error"], dtype=float)
    budget = errors.shape[1]
    crit = trials_to_criterion(errors, threshold=1.0)
    strict = trials_to_criterion(errors, threshold=0.5)
    last = np.median(errors[:, -100:], axis=1)
    return {
        "trials_to_criterion": {
            **_quartiles(crit, budget),
            "per_seed": [None if np.isnan(c) else int(c) for c in crit],
            "reached": int(np.isfinite(crit).sum()),
        },
        "trials_to_criterion_error_below_0.5": {
            **_quartiles(strict, budget),
            "reached": int(np.isfinite(strict).sum()),
        },
        "final_error_last_100": {**_quartiles(last), "per_seed": [round(float(v), 4) for v in last]},
        "criterion": "at least 95 of the last 100 trials with error < threshold (Miconi 2017)",
    }


def distal_reward_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Izhikevich (2007) Fig. 1: when the reinforced synapse passes 0.9 of its maximum, and where the rest end."""
    if not samples or "reinforced_weight_of_max" not in samples[0]:
        return {}
    seeds = sorted({r["seed"] for r in samples})
    reached, final, mean_rest, p99_rest = [], [], [], []
    for seed in seeds:
        rows = sorted((r for r in samples if r["seed"] == seed), key=lambda r: r["t_s"])
        hit = [r["t_s"] for r in rows if r["reinforced_weight_of_max"] >= 0.9]
        reached.append(hit[0] if hit else None)
        final.append(rows[-1]["reinforced_weight_of_max"])
        mean_rest.append(rows[-1]["excitatory_weight_mean"])
        p99_rest.append(rows[-1]["excitatory_weight_p99"])
    return {
        "seconds_to_0.9_of_max": {"per_seed": reached, "reached": sum(r is not None for r in reached)},
        "final_reinforced_weight_of_max": [round(v, 4) for v in final],
        "final_other_weights_mean": [round(v, 4) for v in mean_rest],
        "final_other_weights_p99": [round(v, 4) for v in p99_rest],
    }


def pavlovian_summary(metrics: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Izhikevich (2007) Fig. 2: the response to S1 against the mean response to the other stimuli, per episode
    (each episode's means), and the first episode after which S1's response is at least twice the others'."""
    if "response_s1" not in metrics or "response_others" not in metrics:
        return {}
    ratio = np.asarray(metrics["response_s1"], dtype=float) / np.asarray(metrics["response_others"], dtype=float)
    first = [next((int(e) + 1 for e in np.flatnonzero(row >= 2.0)), None) for row in ratio]
    return {
        "s1_over_others_per_episode": [[round(float(v), 3) for v in row] for row in ratio],
        "episodes_to_s1_twice_others": {"per_seed": first, "reached": sum(f is not None for f in first)},
        "final_response_s1": [round(float(v), 2) for v in np.asarray(metrics["response_s1"])[:, -1]],
        "final_response_others": [round(float(v), 2) for v in np.asarray(metrics["response_others"])[:, -1]],
    }


def pavlovian_sample_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the mean weight out of S1's group ends, against the other groups' (DA-STDP's ``metrics``)."""
    if not samples or "stimulus1_weight_mean" not in samples[0]:
        return {}
    seeds = sorted({r["seed"] for r in samples})
    last = [max((r for r in samples if r["seed"] == s), key=lambda r: r["t_s"]) for s in seeds]
    return {
        "final_s1_group_weight_mean": [round(r["stimulus1_weight_mean"], 4) for r in last],
        "final_other_groups_weight_mean": [round(r["other_stimuli_weight_mean"], 4) for r in last],
    }


def spike_patterns_summary(metrics: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Fraction of correct trials (fired for the target template, silent for the other) over the last 100
    training trials per seed, and the readout's spikes per template there."""
    correct = np.asarray(metrics["correct"], dtype=float)[:, -100:]
    template = np.asarray(metrics["template"])[:, -100:]
    spikes = np.asarray(metrics["output_spikes"], dtype=float)[:, -100:]
    return {
        "last_100_correct": {**_quartiles(correct.mean(axis=1)), "per_seed": correct.mean(axis=1).round(3).tolist()},
        "last_100_spikes_target": _quartiles(
            np.array([s[t == 0].mean() for s, t in zip(spikes, template, strict=True)])
        ),
        "last_100_spikes_other": _quartiles(
            np.array([s[t == 1].mean() for s, t in zip(spikes, template, strict=True)])
        ),
    }


def biofeedback_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Legenstein et al. (2008) sim 1: the reinforced neuron's rate and the other excitatory neurons' mean rate
    in the first and the last minute sampled, and when the reinforced rate first reached twice its start."""
    if not samples or "reinforced_rate_hz" not in samples[0]:
        return {}
    out: dict[str, list] = {k: [] for k in ("reinforced_hz_first_last", "population_hz_first_last")}
    out["seconds_to_double"] = []
    for seed in sorted({r["seed"] for r in samples}):
        mine = sorted((r for r in samples if r["seed"] == seed and r["t_s"] > 0), key=lambda r: r["t_s"])
        t = np.array([r["t_s"] for r in mine])
        reinforced = np.array([r["reinforced_rate_hz"] for r in mine])
        population = np.array([r["excitatory_rate_hz"] for r in mine])
        first, last = t <= t[0] + 60.0, t >= t[-1] - 60.0
        start = reinforced[first].mean()
        doubled = np.flatnonzero(reinforced >= 2.0 * start)
        out["reinforced_hz_first_last"].append([round(reinforced[first].mean(), 2), round(reinforced[last].mean(), 2)])
        out["population_hz_first_last"].append([round(population[first].mean(), 2), round(population[last].mean(), 2)])
        out["seconds_to_double"].append(float(t[doubled[0]]) if doubled.size else None)
    return out


def trajectory_summary(metrics: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """GOAL (Capone et al. 2022) Fig. 2: the MSE of the first recurrent epoch (episode 1; episode 0 builds the
    target spikes) and of the last 100, and the epochs until the MSE first falls below 0.03 and 0.01."""
    mse = np.asarray(metrics["mse"], dtype=float)[:, 1:]
    if mse.shape[1] == 0:
        return {}

    def first_below(threshold: float) -> list[int | None]:
        return [next((int(e) + 1 for e in np.flatnonzero(row <= threshold)), None) for row in mse]

    return {
        "mse_first_epoch": [round(float(v), 4) for v in mse[:, 0]],
        "mse_last_100": [round(float(v), 4) for v in mse[:, -100:].mean(axis=1)],
        "epochs_to_mse_0.03": first_below(0.03),
        "epochs_to_mse_0.01": first_below(0.01),
    }


def trajectory_sample_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The spike error sum |z* - z| of the untrained network, and its mean over the last 100 sampled epochs."""
    if not samples or "spike_error" not in samples[0]:
        return {}
    out: dict[str, list] = {"readout_limit_mse": [], "readout_only_mse": [], "spike_error_first_last": []}
    for seed in sorted({r["seed"] for r in samples}):
        mine = sorted((r for r in samples if r["seed"] == seed), key=lambda r: r["t_s"])
        errors = [r["spike_error"] for r in mine if np.isfinite(r["spike_error"])]
        out["readout_limit_mse"].append(round(mine[-1]["readout_mse"], 5))
        out["readout_only_mse"].append(round(mine[-1]["readout_only_mse"], 4))
        first = mine[-1]["readout_only_spike_error"]
        out["spike_error_first_last"].append([first, round(float(np.mean(errors[-100:])), 1) if errors else None])
    return out


def evaluations_per_seed(rows: list[dict[str, Any]]) -> dict[int, list[tuple[int, list[dict[str, Any]]]]]:
    """Evaluation rows per seed, grouped by the training episodes before them (``after_episodes``), in order."""
    groups: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for r in rows:
        groups.setdefault(r["seed"], {}).setdefault(int(r["after_episodes"]), []).append(r)
    return {seed: sorted(points.items()) for seed, points in sorted(groups.items())}


def forward_model_evaluation_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """FOLLOW (Gilra & Gerstner 2017): the test MSE without feedback (mean over each evaluation's episodes)
    against learning time, per seed; its value before learning, at the end, and how many times lower it fell.
    The same for ``filtered_mse`` (against the reference through the output's synapse) where the rows have it,
    under ``test_filtered_mse_*``."""
    if not rows or "mse" not in rows[0]:
        return {}
    out: dict[str, list] = {}
    for metric in [m for m in ("mse", "filtered_mse") if m in rows[0]]:
        name = f"test_{metric}"
        curves_key = "curves" if metric == "mse" else f"{name}_curves"
        for key in (f"{name}_before", f"{name}_final", f"{name}_fold_reduction", curves_key):
            out[key] = []
        for groups in evaluations_per_seed(rows).values():
            curve = [
                [round(float(group[0].get("learned_s", after)), 1), float(np.mean([g[metric] for g in group]))]
                for after, group in groups
            ]
            before, final = curve[0][1], curve[-1][1]
            out[f"{name}_before"].append(round(before, 5))
            out[f"{name}_final"].append(round(final, 5))
            out[f"{name}_fold_reduction"].append(round(before / final, 2) if final > 0 else None)
            out[curves_key].append([[t, round(m, 5)] for t, m in curve])
    return out


def forward_model_profile(test_env_kwargs: Mapping[str, Any], test_name: str) -> TaskProfile:
    """A FOLLOW forward model: the per-episode MSE (feedback on while learning), the same test without feedback
    for the probes and every evaluation, and the agent's learning time and rates every 10 s."""
    return TaskProfile(
        episode_metrics=("mse", "filtered_mse"),
        curve_metric="mse",
        other_curve_metrics=("filtered_mse",),
        metric_labels={
            "mse": "MSE against the reference",
            "filtered_mse": "MSE against the reference through the output's 20-ms synapse",
        },
        lower_is_better=True,
        probe_env_kwargs=test_env_kwargs,
        probe_names=(test_name,),
        eval_env_kwargs=test_env_kwargs,
        fixed_eval_seed=True,
        evaluation_summary=forward_model_evaluation_summary,
        probe_figure="states",
        sample_every_s=10.0,
    )


CLOSED_LOOP_TEST_SEED = 1_000_000
"""Closed-loop tasks without their own test seeds are evaluated on seeded episodes from here on (disjoint from
training seeds, as the CLI's evaluation seeds)."""
VALIDATION_SEED_BASE = 2_000_000
"""Validation episodes (a run's ``keep_best``) are seeded from here on, disjoint from training and test seeds."""


def closed_loop_profile(eval_seeds: Sequence[int]) -> TaskProfile:
    """A closed-loop control task with a shipped expert: success and who was in control per episode; evaluations
    with the agent in control (the expert only labels) on fixed seeded episodes, and as many validation episodes
    from seed 2,000,000 on for ``keep_best``."""
    return TaskProfile(
        validation_seeds=tuple(range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + len(eval_seeds))),
        episode_metrics=("is_success", "expert_in_control"),
        eval_env_kwargs={"expert_control": 0.0},
        eval_seeds=tuple(eval_seeds),
        evaluation_summary=closed_loop_evaluation_summary,
        probe_env_kwargs={"expert_control": 0.0},
        probe_figure="control",
        sample_every_s=60.0,
    )


def closed_loop_evaluation_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per seed: the mean return and success rate of each evaluation (agent in control) and the best of them."""
    if not rows:
        return {}
    out: dict[str, list] = {"return_first_last_best": [], "success_first_last_best": [], "curves": []}
    for groups in evaluations_per_seed(rows).values():
        curve = [
            [
                after,
                float(np.mean([g["return"] for g in group])),
                float(np.mean([bool(g.get("is_success", False)) for g in group])),
            ]
            for after, group in groups
        ]
        returns, success = [c[1] for c in curve], [c[2] for c in curve]
        out["return_first_last_best"].append([round(returns[0], 2), round(returns[-1], 2), round(max(returns), 2)])
        out["success_first_last_best"].append([round(success[0], 3), round(success[-1], 3), round(max(success), 3)])
        out["curves"].append([[a, round(r, 2), round(s, 3)] for a, r, s in curve])
    return out


DNMS_CONDITIONS = ("AA", "AB", "BA", "BB")

# FOLLOW's tests: van der Pol on the ramp-leave-ramp input for the paper's 16-s window, no clamp; the arm on
# 4 s of its training torques (the paper tests the arm on new random torques, another seed).
_VAN_DER_POL_TEST = {"input_protocol": "test", "trials_per_episode": 4}
_ARM_TEST = {"trials_per_episode": 4}
# FOLLOW's acrobot test: the forward model predicts the acrobot under a swing-up torque sequence.
_ACROBOT_TEST = {"input_protocol": "swing", "trials_per_episode": 1}

TASKS: dict[str, TaskProfile] = {
    "spikegym/DNMS-v0": TaskProfile(
        episode_metrics=("error", "condition"),
        curve_metric="error",
        lower_is_better=True,
        probe_options=[{"condition": c} for c in DNMS_CONDITIONS],
        probe_names=DNMS_CONDITIONS,
        summary=dnms_summary,
    ),
    "spikegym/SpikePatterns-v0": TaskProfile(
        # test episodes are seeded one by one: each must draw its template, not restart the alternation at 0
        eval_env_kwargs={"template_order": "random"},
        episode_metrics=("correct", "output_spikes", "template"),
        curve_metric="correct",
        probe_options=[{"template": 0}, {"template": 1}],
        probe_names=("template 0", "template 1"),
        summary=spike_patterns_summary,
        count_metric="output_spikes",
    ),
    "spikegym/SpokenDigits-v0": TaskProfile(
        eval_env_kwargs={"order": "random"},  # as SpikePatterns: each seeded test episode draws its digit
        episode_metrics=("correct", "output_spikes", "digit"),
        curve_metric="correct",
        probe_options=[{"digit": 1}, {"digit": 2}],
        probe_names=('"one"', '"two"'),
        count_metric="output_spikes",
    ),
    "spikegym/Biofeedback-v0": TaskProfile(
        sample_every_s=10.0, sample_summary=biofeedback_summary, probe_env_kwargs={"duration_s": 3.0}
    ),
    "spikegym/DistalReward-v0": TaskProfile(
        episode_metrics=("pairings", "rewards"),
        probe_env_kwargs={"duration_s": 3.0},
        sample_every_s=10.0,
        sample_summary=distal_reward_summary,
    ),
    "spikegym/PavlovianConditioning-v0": TaskProfile(
        episode_metrics=("response_s1", "response_others", "s1_presentations", "rewards"),
        probe_env_kwargs={"duration_s": 30.0},
        summary=pavlovian_summary,
        sample_every_s=30.0,
        sample_summary=pavlovian_sample_summary,
    ),
    "spikegym/Trajectory-v0": TaskProfile(
        episode_metrics=("mse",),
        curve_metric="mse",
        lower_is_better=True,
        summary=trajectory_summary,
        sample_every_s=0.15,  # once per episode of the default 150 steps
        sample_summary=trajectory_sample_summary,
        task_from_seed=True,
    ),
    "spikegym/VanDerPol-v0": forward_model_profile(_VAN_DER_POL_TEST, "test input, no feedback"),
    "spikegym/ArmForwardModel-v0": forward_model_profile(_ARM_TEST, "new torques, no feedback"),
    # BipedalWalker: the 20 seeds the PPO expert's return is reported on (envs/experts/).
    "spikegym/BipedalWalker-v0": closed_loop_profile(range(20)),
    "spikegym/ArmReach-v0": closed_loop_profile(range(CLOSED_LOOP_TEST_SEED, CLOSED_LOOP_TEST_SEED + 100)),
    "spikegym/AcrobotSwingUp-v0": closed_loop_profile(range(CLOSED_LOOP_TEST_SEED, CLOSED_LOOP_TEST_SEED + 100)),
    "spikegym/AcrobotForwardModel-v0": forward_model_profile(_ACROBOT_TEST, "the expert's swing, no feedback"),
}


def task_profile(task_id: str) -> TaskProfile:
    """The profile of ``task_id`` (namespace prefix like ``envs:`` ignored), or the generic one."""
    return TASKS.get(task_id.split(":")[-1], TaskProfile())
