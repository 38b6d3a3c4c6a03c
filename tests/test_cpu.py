"""`lmmcl` pins torch's, MKL's and oneDNN's CPU code paths before torch starts (lmmcl/cpu.py)."""

import os
import subprocess
import sys

from lmmcl import cpu

PROBE = """
import os, sys
from lmmcl import cli
try:
    cli.main(["recipes", "--help"])
except SystemExit:
    pass
import torch
print(torch.backends.cpu.get_cpu_capability(), os.environ["MKL_CBWR"], os.environ["ONEDNN_MAX_CPU_ISA"],
      file=sys.stderr)
"""


def _probe(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stderr.strip().splitlines()[-1]


def test_the_command_line_pins_the_cpu_code_path_before_torch_starts():
    env = {k: v for k, v in os.environ.items() if k not in cpu.PINNED}
    assert _probe(env) == "AVX2 AVX2 AVX2"


def test_a_code_path_the_user_set_is_kept():
    env = {**{k: v for k, v in os.environ.items() if k not in cpu.PINNED}, "ATEN_CPU_CAPABILITY": "default"}
    assert _probe(env).split()[0] == "DEFAULT"
