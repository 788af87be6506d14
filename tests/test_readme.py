"""The README's Python examples run as written (with tiny budgets)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    code = "\n".join(blocks)
    code = re.sub(r"\bepisodes=\d+", "episodes=2", code)
    code = re.sub(r"\bn_eval_episodes=\d+", "n_eval_episodes=2", code)
    code = code.replace("num_envs=20", "num_envs=2").replace("range(20)", "range(2)")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
