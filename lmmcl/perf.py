"""Old import path of :mod:`lmmcl.train.perf`, kept only for configs users saved: LightningCLI writes each run's
config.yaml, and a run with configs/trainer/grad_checkpointing.yaml (or ``--trainer.callbacks+=...``) names
``lmmcl.perf.GradientCheckpointing`` / ``lmmcl.perf.DataWaitTimer`` there. New configs use ``lmmcl.train.perf``."""

from lmmcl.train.perf import DataWaitTimer, GradientCheckpointing

__all__ = ["DataWaitTimer", "GradientCheckpointing"]
