"""The rehearsal: the paper's protocol run end to end on a CPU machine without weights, data or GPUs.

``lmmcl rehearse`` (:mod:`lmmcl.rehearsal.run`) runs configs/experiment/paper.yaml through ``lmmcl fit`` on tiny
models of the real families and local copies of the real benchmarks (:mod:`lmmcl.rehearsal.benchmarks`, written in
their real on-disk schemas, :mod:`lmmcl.rehearsal.schemas`); with real image settings it also writes how long the
prompts were (:mod:`lmmcl.rehearsal.lengths`). docs/guide/rehearsal.md.
"""
