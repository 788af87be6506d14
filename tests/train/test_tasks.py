import numpy as np
import pytest

from train.tasks import dnms_summary, task_profile, trials_to_criterion


def test_criterion_is_95_of_the_last_100():
    errors = np.full((3, 300), 1.5)
    errors[0, 100:] = 0.2  # good from trial 101 on: 95 good trials by trial 195
    errors[1, :] = 0.2  # good from the start: the criterion needs a full window of 100
    errors[2, 50:150] = 0.2
    errors[2, 60:66] = 1.5  # 94 of 100 good: never reaches 95
    got = trials_to_criterion(errors)
    assert got[0] == 195
    assert got[1] == 100
    assert np.isnan(got[2])


def test_stricter_threshold():
    errors = np.full((1, 200), 0.7)
    assert trials_to_criterion(errors, threshold=1.0)[0] == 100
    assert np.isnan(trials_to_criterion(errors, threshold=0.5)[0])


def test_dnms_summary_reports_median_and_iqr():
    errors = np.full((4, 400), 0.1)
    errors[:, :150] = 1.5
    summary = dnms_summary({"error": errors})
    crit = summary["trials_to_criterion"]
    assert crit["median"] == pytest.approx(245) and crit["reached"] == 4
    assert summary["final_error_last_100"]["median"] == pytest.approx(0.1)


def test_unknown_tasks_get_the_generic_profile():
    assert task_profile("spikegym/Nope-v0").curve_metric == "return"
    assert task_profile("envs:spikegym/DNMS-v0").curve_metric == "error"


def test_seeds_that_never_reach_criterion_count_as_beyond_the_budget():
    errors = np.full((4, 300), 0.2)
    errors[2:, :] = 1.5  # two of four seeds never reach it
    crit = dnms_summary({"error": errors})["trials_to_criterion"]
    assert crit["reached"] == 2 and crit["q25"] == pytest.approx(100)
    assert crit["median"] is None and crit["q75"] is None  # the median seed did not reach it


def test_distal_reward_summary_finds_the_time_to_90_percent():
    from train.tasks import distal_reward_summary

    samples = [
        {
            "seed": s,
            "t_s": t,
            "reinforced_weight_of_max": w,
            "excitatory_weight_mean": 0.6,
            "excitatory_weight_p99": 1.2,
        }
        for s, series in ((0, [0.1, 0.5, 0.95, 1.0]), (1, [0.0, 0.1, 0.2, 0.3]))
        for t, w in zip((10.0, 20.0, 30.0, 40.0), series, strict=True)
    ]
    summary = distal_reward_summary(samples)
    assert summary["seconds_to_0.9_of_max"] == {"per_seed": [30.0, None], "reached": 1}
    assert summary["final_reinforced_weight_of_max"] == [1.0, 0.3]
    assert summary["final_other_weights_p99"] == [1.2, 1.2]


def test_hour_long_tasks_probe_a_few_seconds_only():
    from train.tasks import task_profile

    for task in ("spikegym/DistalReward-v0", "spikegym/Biofeedback-v0", "spikegym/PavlovianConditioning-v0"):
        assert task_profile(task).probe_env_kwargs["duration_s"] <= 30.0
