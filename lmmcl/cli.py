"""``lmmcl`` command line: ``fit`` / ``validate`` (LightningCLI, see ``lmmcl.train.cli``) and
lmmcl's own tools (``lmmcl recipes``, ``lmmcl report``, ...), each a ``main(argv)`` in its own module,
imported only when asked for so that they answer in seconds.

    lmmcl fit --config configs/experiment/default.yaml --model.preset tiny --recipe.name sa_proj
    lmmcl fit --print_config
    lmmcl recipes llava

Runs log to logs/<model>/<recipe>/version_<n>/. Passing ``--ckpt_path .../version_<n>/checkpoints/last.ckpt``
resumes that run in its own directory at the stage where it stopped.
"""

from __future__ import annotations

import sys
from importlib import import_module

from lmmcl import cpu
from lmmcl.failures import guarded
from lmmcl.quiet import silence_dependency_deprecations

# lmmcl's own subcommands: name -> "module:function(argv: list[str]) -> int | None" (imported lazily).
TOOLS: dict[str, str] = {
    "base": "lmmcl.train.base:main",       # build / rebuild the tiny model's pre-trained base
    "recipes": "lmmcl.tools.inspect:main",  # trainable parameters per recipe, offline
    "report": "lmmcl.report:main",         # regenerate a run's report from its logs
    "compare": "lmmcl.tools.compare:main",  # runs side by side, learning vs forgetting, frontiers, claims
    "calibrate": "lmmcl.tools.calibrate:main",  # the stage budget (LR, steps) set on the control recipe
    "restore": "lmmcl.eval.restore:main",  # a run's blocks put back to the base's: what returns
    "layers": "lmmcl.eval.layers:main",    # per-layer contribution between two checkpoints
    "show": "lmmcl.data.show:main",        # a grid PNG of a skill's examples
    "plan": "lmmcl.train.plan:main",       # resolve datasets of an experiment without loading them
    "samples": "lmmcl.eval.samples:main",  # per-sample answers of a run, and how they changed between stages
    "probe": "lmmcl.train.iterations:main",  # counting bias and layer contribution over a counting-only tune
    "export": "lmmcl.tools.export:main",   # a run's model as a save_pretrained folder (LoRA merged, model card)
    "rehearse": "lmmcl.rehearsal.run:main",  # paper.yaml end to end on CPU: tiny real-family models, local benchmarks
}


def run_tool(name: str, argv: list[str]) -> int:
    module, fn = TOOLS[name].split(":")
    try:
        entry = getattr(import_module(module), fn)
    except (ImportError, AttributeError) as err:
        raise SystemExit(f"lmmcl {name}: not available in this version ({err}).") from None
    from lmmcl.yamlfile import check_config_files

    return guarded(f"lmmcl {name}", lambda: (check_config_files(argv), entry(argv))[1])


def main(args: list[str] | None = None) -> int:
    cpu.pin()  # before torch starts: the AVX2 code path on every x86 CPU (what it makes equal: lmmcl/cpu.py)
    if hasattr(sys.stdout, "reconfigure"):  # lines in the order they happen when stdout and stderr share a log
        sys.stdout.reconfigure(line_buffering=True)
    silence_dependency_deprecations()  # every tool: base builds and probes train with lightning too
    argv = sys.argv[1:] if args is None else args
    if argv and argv[0] in TOOLS:
        raise SystemExit(run_tool(argv[0], argv[1:]))
    if argv and argv[0] in ("-h", "--help"):
        print("lmmcl tools: " + ", ".join(TOOLS) + " (lmmcl <tool> --help)\n")
    from lmmcl.train.cli import LMMCLI, run
    from lmmcl.yamlfile import check_config_files

    prog = f"lmmcl {argv[0]}" if argv and argv[0] in LMMCLI.subcommands() else "lmmcl"  # a --help that exists
    guarded(prog, lambda: (check_config_files(argv), run(args))[0])  # errors: one paragraph, exit 2
    return 0


if __name__ == "__main__":
    main()
