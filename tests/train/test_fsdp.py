"""configs/trainer/fsdp.yaml on CPU (gloo): fp32 rotary frequencies under bf16 compute, gradient clipping, one
wrapping for the base evaluation and the stages; every rank the same forwards (padded evaluation shards, a
placeholder batch for a batch with no usable sample)."""

from pathlib import Path

import pytest
import torch

from lmmcl.data.shards import EvenShards, Padded, ShardPadding
from lmmcl.errors import LmmclError
from lmmcl.train.fsdp import mixed_precision_of

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_fsdp_config_runs_on_cpu_keeps_rotary_frequencies_fp32_and_clips_gradients(cli_fit_args, tmp_path, monkeypatch):
    """One process: the base evaluation and two stages through the CLI with fsdp.yaml + bf16.yaml and default.yaml's
    gradient_clip_val 1.0 (Lightning's FSDP precision refuses it); inv_freq stays fp32 after the forwards."""
    from lightning.fabric.plugins.environments.lightning import find_free_network_port

    from lmmcl.train.cli import run

    # a free port, not a fixed one: another suite on the same machine runs this test too (EADDRINUSE)
    monkeypatch.setenv("MASTER_PORT", str(find_free_network_port()))
    cli = run([*cli_fit_args, "--config", str(CONFIGS / "trainer" / "fsdp.yaml"),
               "--config", str(CONFIGS / "trainer" / "bf16.yaml"), "--trainer.accelerator", "cpu",
               "--trainer.devices", "1", "--trainer.logger.init_args.save_dir", str(tmp_path)])
    precision = cli.trainer.strategy.mixed_precision_config
    assert (precision.param_dtype, precision.reduce_dtype, precision.buffer_dtype) == (
        torch.bfloat16, torch.float32, torch.float32)
    assert cli.trainer.gradient_clip_val == 1.0 and cli.trainer.global_step == 8  # two stages of 4 steps
    rotary = {n: b.dtype for n, b in cli.model.model.named_buffers() if n.endswith("inv_freq")}
    assert rotary and set(rotary.values()) == {torch.float32}, rotary
    assert (Path(cli.trainer.log_dir) / "report.json").exists()


def test_mixed_precision_names_and_a_bad_one():
    assert mixed_precision_of({"param_dtype": "bfloat16", "buffer_dtype": "float32"}).buffer_dtype == torch.float32
    assert mixed_precision_of(None) is None
    with pytest.raises(LmmclError, match="bf16"):
        mixed_precision_of({"param_dtype": "bf16"})


@pytest.mark.parametrize("size, ranks", [(17, 2), (129, 8), (5, 8), (16, 4)])
def test_even_shards_score_every_sample_once_with_equal_lengths(size, ranks):
    data = Padded(list(range(size)))
    shards = [[data[i] for i in EvenShards(data, num_replicas=ranks, rank=r)] for r in range(ranks)]
    assert len({len(s) for s in shards}) == 1  # every rank the same number of items, so of batches
    real = sorted(x for s in shards for x in s if not isinstance(x, ShardPadding))
    assert real == list(range(size))  # each sample on exactly one rank


def test_a_batch_without_samples_runs_a_placeholder_forward(make_trainer):
    """A rank whose batch holds no usable sample (bad records, a padded shard's end) still runs the forward the
    other ranks run: zero loss in training, nothing scored in evaluation."""
    from lmmcl.data.collate import Collator
    from lmmcl.train.module import LMMModule

    module = LMMModule("tiny_scratch")
    calls = []
    module.model.register_forward_pre_hook(lambda *_: calls.append(1))
    collate = Collator(module.processor, train=True)
    assert collate([None, ShardPadding()])["bad_records"] == {"bad_record": 1}  # the padding is not counted
    empty = collate([ShardPadding(), ShardPadding()])
    assert "input_ids" not in empty and empty["bad_records"] == {}
    module.trainer = make_trainer([])
    loss = module.training_step(empty, 0)
    assert calls and loss.item() == 0.0 and loss.requires_grad
    loss.backward()  # reaches the trained parameters, as the other ranks' losses do
    assert any(p.grad is not None for p in module.model.parameters() if p.requires_grad)


def test_an_analysis_forward_runs_inside_the_root_modules_forward():
    """The drift monitor's and the probe's forwards (lmmcl.eval.sharded.in_root_forward) run inside the wrapper's
    forward, where FSDP has gathered the root unit's parameters; the module's own forward is back afterwards."""
    from types import SimpleNamespace

    from lmmcl.eval.sharded import in_root_forward
    from lmmcl.train.fsdp import FSDPStrategy
    from lmmcl.train.module import LMMModule

    class Root(torch.nn.Module):  # stands for the root FullyShardedDataParallel module: gather, then forward
        def __init__(self, module):
            super().__init__()
            self.module, self.gathered = module, False

        def forward(self, *args, **kwargs):
            self.gathered = True
            try:
                return self.module(*args, **kwargs)
            finally:
                self.gathered = False

    module = LMMModule("tiny_scratch")
    strategy = FSDPStrategy()
    strategy.model = root = Root(module)
    module._trainer = SimpleNamespace(strategy=strategy)
    assert in_root_forward(module, lambda: root.gathered) is True
    assert module.forward.__func__ is LMMModule.forward and not root.gathered


def test_the_recipes_parameter_counts_are_the_whole_models_when_a_later_setup_sees_shards(make_trainer, caplog):
    """Under FSDP the fit after the base evaluation sets the recipe up again on a wrapped model whose parameters
    are each rank's shards (use_orig_params: 1-D views of the local shard): the report's counts stay the whole
    model's, as printed."""
    from lmmcl.train.module import LMMModule
    from lmmcl.train.recipes import FreezeRecipe, count_parameters

    module = LMMModule("tiny_scratch")
    recipe = FreezeRecipe("mlp_gate_up")
    trainer = make_trainer([recipe], logger=False)
    recipe.setup(trainer, module, "validate")
    whole = dict(zip(("trainable", "total"), count_parameters(module.model)))
    with torch.no_grad():
        for param in module.model.parameters():  # rank 0's shard of two, as FSDP leaves it between forwards
            param.data = param.data.flatten()[: (param.numel() + 1) // 2]
    recipe.setup(trainer, module, "fit")
    assert recipe.param_counts == whole and count_parameters(module.model)[1] < whole["total"]
    lines = [r.getMessage() for r in caplog.records if "[lmmcl] recipe" in r.getMessage()]
    assert len(lines) == 1 and f"{whole['trainable']:,} trainable of {whole['total']:,} parameters" in lines[0], lines
