"""Every baseline composes with a recipe and the stage loop, checkpoints, the CLI and `lmmcl compare`.

WiSE-FT's two-stage sequence is in test_wise_ft.py (it also checks that evaluation follows the merge)."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from lmmcl.baselines import LwF, MoE, baseline_args, known_baselines, parse_entry
from lmmcl.data.datamodule import SkillSequence
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe, count_parameters
from lmmcl.train.stages import SequentialStages, run_sequence

ENTRIES = {  # entry -> (FreezeRecipe kwargs, baseline callbacks, a metric the baseline logs)
    "lora": (dict(name="lora", adapter={"r": 8}), [], None),
    "mlp_gate_up+lwf": (dict(name="mlp_gate_up"), [LwF], "train/lwf"),
    "mlp+moe": (dict(name="mlp"), [MoE], "moe/val_load_new"),
}


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_two_stage_sequence_runs_and_its_checkpoint_reloads(entry, make_trainer, tiny_data_kwargs):
    recipe_kwargs, baselines, metric = ENTRIES[entry]
    recipe = FreezeRecipe(**recipe_kwargs)
    trainer = make_trainer([recipe, *(b() for b in baselines), SequentialStages()], limit_val_batches=1)
    module = LMMModule("tiny_scratch", lr=1e-3)
    run_sequence(trainer, module, SkillSequence(**tiny_data_kwargs))
    run = Path(trainer.log_dir)
    report = json.loads((run / "report.json").read_text())
    assert [s["name"] for s in report["stages"]] == ["base", "species", "count"]
    assert [report["recipe"], *report["baselines"]] == [recipe_kwargs["name"], *entry.split("+")[1:]]
    assert report["trainable_params"] == count_parameters(module.model)[0] < report["total_params"]
    if metric:
        assert metric in trainer.callback_metrics
    # a stage checkpoint loads (strictly) into a fresh module that the same recipe and baselines adapted
    fresh = LMMModule("tiny_scratch")
    fresh_trainer = make_trainer([FreezeRecipe(**recipe_kwargs), *(b() for b in baselines)])
    fresh_trainer.callbacks[0].setup(fresh_trainer, fresh, "fit")
    checkpoint = torch.load(run / "checkpoints" / "stage1-species.ckpt", weights_only=False)
    fresh.load_state_dict(checkpoint["state_dict"])
    assert fresh.model.state_dict().keys() == module.model.state_dict().keys()


def test_entries_name_a_recipe_and_its_baselines():
    assert parse_entry("mlp_gate_up+lwf+wise_ft") == ("mlp_gate_up", ["lwf", "wise_ft"])
    assert parse_entry("lora") == ("lora", [])
    with pytest.raises(ValueError, match="Unknown baseline 'lwff'. Known: lora, lwf, moe, wise_ft"):
        parse_entry("mlp+lwff")


def test_baselines_are_appended_to_the_configs_callbacks(capsys):
    from lmmcl.cli import main

    with pytest.raises(SystemExit):
        main(["fit", "--model.preset", "tiny_scratch", *baseline_args(["lwf", "moe"]), "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    classes = [c["class_path"] for c in config["trainer"]["callbacks"]]
    assert classes[-2:] == ["lmmcl.baselines.LwF", "lmmcl.baselines.MoE"]
    assert len(classes) > 2  # the default config's callbacks are kept


def test_compare_lists_the_baselines_and_trains_entries(capsys, fake_fit, tmp_path):
    from lmmcl.tools import compare
    from lmmcl.tools.finish import row_from_run

    assert compare.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in known_baselines())
    assert set(known_baselines()) >= {"lora", "lwf", "wise_ft", "moe"}
    assert {"lora", "mlp+lwf", "mlp+wise_ft", "mlp+moe"} <= set(compare.PAPER_RECIPES + compare.PAPER_BASELINES)
    assert compare.PAPER_RECIPES == ["full", "llm", "sa_proj", "mlp_gate_up", "mlp"]  # baselines only when named

    assert compare.main(["--train", "--model", "tiny", "--recipes", "sa_proj", "mlp_gate_up+lwf",
                         "--out", str(tmp_path / "cmp"), "--lr-scales", "1", "--no-restore", "--jobs", "1"]) == 0
    calls = fake_fit.calls

    def baseline_callbacks(args):
        return [a for a in args if a.startswith("--trainer.callbacks+=") and a.endswith(".yaml")]

    assert calls[0][calls[0].index("--recipe.name") + 1] == "sa_proj" and not baseline_callbacks(calls[0])
    assert calls[1][calls[1].index("--recipe.name") + 1] == "mlp_gate_up"
    assert [a.rpartition("/")[2] for a in baseline_callbacks(calls[1])] == ["lwf.yaml"]
    assert not any("logger" in a for a in calls[1])  # the CLI names the run (tests/test_cli.py)
    rows = json.loads((tmp_path / "cmp" / "summary.json").read_text())["rows"]
    assert [r["recipe"] for r in rows] == ["sa_proj", "mlp_gate_up+lwf"]
    assert row_from_run(tmp_path / "fake_runs" / "run2")["recipe"] == "mlp_gate_up+lwf"  # labelled from its config.yaml
