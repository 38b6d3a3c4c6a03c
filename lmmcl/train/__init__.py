"""Training: the Lightning CLI (``cli``), the LightningModule (``module``), the stage loop (``stages``), freezing
recipes and adapters, LR groups, run identity and directory, fit-time validation, speed callbacks (``perf``)."""
