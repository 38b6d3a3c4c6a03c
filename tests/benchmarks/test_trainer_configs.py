"""configs/trainer/*.yaml: each composes with the default experiment; activation checkpointing keeps gradients."""

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs" / "trainer").glob("*.yaml"))
EXPECTED = {  # a line each config must put into the resolved config
    "single_device": "accelerator: auto",
    "ddp": "class_path: lightning.pytorch.strategies.DDPStrategy",
    "fsdp": "class_path: lmmcl.train.fsdp.FSDPStrategy",
    "bf16": "precision: bf16-mixed",
    "grad_checkpointing": "class_path: lmmcl.train.perf.GradientCheckpointing",
    "grad_accum": "accumulate_grad_batches: 2",
}


def test_every_trainer_config_is_covered():
    assert {c.stem for c in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.stem)
def test_trainer_config_composes_with_the_default(config, capsys, monkeypatch):
    from lmmcl.train.cli import run

    monkeypatch.setattr("sys.argv", ["lmmcl"])
    with pytest.raises(SystemExit) as done:
        run(["fit", "--config", str(ROOT / "configs" / "experiment" / "default.yaml"), "--config", str(config),
             "--print_config"])
    assert done.value.code in (0, None)
    assert EXPECTED[config.stem] in capsys.readouterr().out


def _grads(module, batch) -> dict[str, torch.Tensor]:
    module.model.zero_grad(set_to_none=True)
    module.model(**module.model_inputs(batch)).loss.backward()
    return {n: p.grad.clone() for n, p in module.model.named_parameters() if p.requires_grad}


def test_gradient_checkpointing_recomputes_and_keeps_gradients_behind_frozen_embeddings():
    from lmmcl.data.datamodule import SkillDataModule
    from lmmcl.train.module import LMMModule
    from lmmcl.train.perf import GradientCheckpointing
    from lmmcl.train.recipes import apply_recipe, get_recipe

    module = LMMModule("tiny_scratch")
    apply_recipe(module.model, get_recipe("mlp_gate_up"), module.preset.components)  # embeddings frozen
    dm = SkillDataModule("color", train_size=4, batch_size=4)
    dm.processor = module.processor
    batch = next(iter(dm.train_dataloader()))
    plain = _grads(module, batch)

    calls = []
    layer = module.model.model.language_model.layers[0]
    # a pre-hook: the non-reentrant recompute stops (early) inside the MLP once its saved tensors are back
    layer.mlp.register_forward_pre_hook(lambda *_: calls.append(1))
    GradientCheckpointing().setup(None, module, "fit")
    checkpointed = _grads(module, batch)
    assert len(calls) == 2  # forward, then recomputed in backward
    assert plain.keys() == checkpointed.keys() and plain
    for name in plain:
        assert plain[name].abs().sum() > 0
        torch.testing.assert_close(checkpointed[name], plain[name], rtol=1e-5, atol=1e-7)


TINY_RUN = ["--model.preset", "tiny_scratch", "--data.skills", "[color]", "--data.heldout", "[exist]",
            "--data.train_size", "4", "--data.test_size", "2", "--data.batch_size", "2", "--data.eval_batch_size", "2",
            "--trainer.callbacks", "[]", "--stages.save_checkpoints", "false"]
RUNS = {  # each config as its file says, on one device (the default experiment's CPU, a GPU for FSDP)
    "single_device": [], "bf16": [], "grad_accum": [], "grad_checkpointing": [],
    "ddp": ["--trainer.accelerator", "cpu", "--trainer.devices", "1"], "fsdp": ["--trainer.devices", "1"]}


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.stem)
def test_trainer_config_runs_a_sequence(config, tmp_path, monkeypatch):
    """Every trainer config trains and evaluates a one-stage sequence (its own callbacks kept: the config comes
    after the size overrides)."""
    import json

    from lmmcl.train.cli import run

    if config.stem == "fsdp" and not torch.cuda.is_available():
        pytest.skip("Lightning's FSDPStrategy refuses accelerator='cpu'; this config runs only where a CUDA GPU is")
    monkeypatch.setattr("sys.argv", ["lmmcl"])
    cli = run(["fit", "--config", str(ROOT / "configs" / "experiment" / "smoke.yaml"), *TINY_RUN, "--config",
               str(config), *RUNS[config.stem], "--trainer.logger.init_args.save_dir", str(tmp_path)])
    report = json.loads((Path(cli.trainer.log_dir) / "report.json").read_text())
    assert [row["name"] for row in report["stages"]] == ["base", "color"]


def test_every_trainer_config_has_a_run():
    assert {c.stem for c in CONFIGS} == set(RUNS)


def test_the_paper_protocol_turns_deterministic_mode_off(monkeypatch):
    """default.yaml's deterministic: true (exact CPU reruns of the miniature) would make LLaVA-OneVision's anyres
    downsampling raise on CUDA in recipes that train the vision side: paper.yaml turns it off."""
    from lmmcl.train.cli import ResolvedConfig, cli_kwargs

    monkeypatch.setattr("sys.argv", ["lmmcl"])
    paper = ResolvedConfig(**cli_kwargs(["fit", "--config", str(ROOT / "configs" / "experiment" / "paper.yaml")]))
    default = ResolvedConfig(**cli_kwargs(["fit"]))
    assert paper.config.fit.trainer.deterministic is False and default.config.fit.trainer.deterministic is True
