"""What a run sends to its Lightning loggers beyond ``self.log``: scalars, figures and sample tables, to every
logger of the run (``trainer.loggers``, one or several), each through its own API.

    logger              scalars        figures (HWC uint8 pixels)        tables (columns + rows)
    TensorBoardLogger   log_metrics    SummaryWriter.add_image           SummaryWriter.add_text (Markdown)
    WandbLogger         log_metrics    log_image (wandb.Image)            log_table (wandb.Table)
    any other           log_metrics    -                                  -

The run directory holds the same figures (PNG) and samples (JSONL) whatever the loggers, so a logger without an
image or table API loses nothing but the view. A bare ``SummaryWriter`` (``lmmcl report --tensorboard``) is taken as
a TensorBoard writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _tensorboard_writer(logger: Any) -> Any:
    from lightning.pytorch.loggers import TensorBoardLogger

    if isinstance(logger, TensorBoardLogger):
        return logger.experiment
    return logger if hasattr(logger, "add_image") and hasattr(logger, "add_text") else None


def _wandb(logger: Any) -> bool:
    try:
        from lightning.pytorch.loggers import WandbLogger
    except ImportError:  # pragma: no cover - lightning always ships the class, wandb itself is optional
        return False
    return isinstance(logger, WandbLogger)


def log_scalars(loggers: Iterable[Any], metrics: Mapping[str, float], step: int) -> None:
    """``metrics`` at ``step`` to every logger (Lightning's ``log_metrics``)."""
    for logger in loggers:
        logger.log_metrics(dict(metrics), step=step)


def log_image(loggers: Iterable[Any], tag: str, pixels: Any, step: int | None = None) -> None:
    """An (H, W, 3) uint8 image to every logger that has an image API."""
    for logger in loggers:
        writer = _tensorboard_writer(logger)
        if writer is not None:
            writer.add_image(tag, pixels, global_step=step, dataformats="HWC")
            writer.flush()
        elif _wandb(logger):
            logger.log_image(key=tag, images=[pixels], step=step)


def log_table(loggers: Iterable[Any], tag: str, columns: list[str], rows: list[list[Any]], markdown: str,
              step: int | None = None) -> None:
    """A table to every logger that shows one: TensorBoard gets its ``markdown`` as text, W&B a table."""
    for logger in loggers:
        writer = _tensorboard_writer(logger)
        if writer is not None:
            writer.add_text(tag, markdown, global_step=step)
        elif _wandb(logger):
            logger.log_table(key=tag, columns=columns, data=rows, step=step)
