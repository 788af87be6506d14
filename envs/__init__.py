"""spikegym tasks, registered with Gymnasium under the namespace ``spikegym`` on ``import envs``.

Gymnasium 1.x has no plugin auto-loading, so either import this package first::

    import gymnasium as gym
    import envs  # noqa: F401  (registers spikegym/*)
    env = gym.make("spikegym/DNMS-v0")

or let Gymnasium import it for you: ``gym.make("envs:spikegym/DNMS-v0")``.
"""

from gymnasium.envs.registration import register, registry

NAMESPACE = "spikegym"


def _register(name: str, entry_point: str, **kwargs) -> None:
    env_id = f"{NAMESPACE}/{name}"
    if env_id not in registry:  # idempotent: importing twice (or reloading) registers once
        register(id=env_id, entry_point=entry_point, **kwargs)


_register("DNMS-v0", "envs.dnms:DNMSEnv", vector_entry_point="envs.dnms:DNMSVectorEnv")

_register("Conditioning-v0", "envs.conditioning:ConditioningEnv")
_register("TwoChoiceConditioning-v0", "envs.conditioning:TwoChoiceConditioningEnv")
_register(
    "SpikePatterns-v0",
    "envs.spike_patterns:SpikePatternsEnv",
    vector_entry_point="envs.spike_patterns:SpikePatternsVectorEnv",
)
_register(
    "SpokenDigits-v0",
    "envs.spoken_digits:SpokenDigitsEnv",
    vector_entry_point="envs.spoken_digits:SpokenDigitsVectorEnv",
)
_register(
    "DistalReward-v0",
    "envs.distal_reward:DistalRewardEnv",
    vector_entry_point="envs.distal_reward:DistalRewardVectorEnv",
)
_register("Biofeedback-v0", "envs.biofeedback:BiofeedbackEnv")
_register(
    "PavlovianConditioning-v0",
    "envs.pavlovian:PavlovianConditioningEnv",
    vector_entry_point="envs.pavlovian:PavlovianConditioningVectorEnv",
)
_register("Trajectory-v0", "envs.trajectory:TrajectoryEnv", vector_entry_point="envs.trajectory:TrajectoryVectorEnv")
_register("VanDerPol-v0", "envs.van_der_pol:VanDerPolEnv", vector_entry_point="envs.van_der_pol:VanDerPolVectorEnv")
_register("ArmForwardModel-v0", "envs.arm:ArmForwardModelEnv", vector_entry_point="envs.arm:ArmForwardModelVectorEnv")
_register("ArmReach-v0", "envs.arm_reach:ArmReachEnv", vector_entry_point="envs.arm_reach:ArmReachVectorEnv")
_register(
    "AcrobotSwingUp-v0", "envs.acrobot:AcrobotSwingUpEnv", vector_entry_point="envs.acrobot:AcrobotSwingUpVectorEnv"
)
_register(
    "AcrobotForwardModel-v0",
    "envs.acrobot:AcrobotForwardModelEnv",
    vector_entry_point="envs.acrobot:AcrobotForwardModelVectorEnv",
)
# Closed loop (needs the box2d extra: pip install "spikegym[box2d]").
_register("BipedalWalker-v0", "envs.bipedal_walker:BipedalWalkerEnv")

__all__ = ["NAMESPACE"]
