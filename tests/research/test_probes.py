"""The one-skill and tower probes run end to end on the random-weight tiny build and print what they measure."""

import json
import sys

from lmmcl.models.presets import built_checkpoint, get_preset


def run(module, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["probe", *argv])
    module.main()
    return capsys.readouterr().out


def test_skill_probe_trains_only_the_recipe_logs_its_curve_with_the_heldout_scores_and_saves(tmp_path, monkeypatch,
                                                                                             capsys):
    from research import skill_probe

    log = tmp_path / "curve.jsonl"
    out = run(skill_probe, ["--skill", "count", "--model", str(built_checkpoint(get_preset("tiny_scratch"))),
                            "--recipe", "sa_proj", "--steps", "2", "--every", "1", "--train-size", "8",
                            "--test-size", "4", "--threads", "1", "--log", str(log), "--tag", "t",
                            "--heldout", "color", "caption", "--save", str(tmp_path / "after")], monkeypatch, capsys)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert "step 2:" in out and [r["step"] for r in rows] == [1, 2]
    assert rows[0]["recipe"] == "sa_proj" and 0 <= rows[0]["accuracy"] <= 100
    assert "before training: held-out" in out and "held-out mean" in out
    assert (tmp_path / "after" / "config.json").exists()  # the next probe's --model
    assert set(rows[1]["heldout"]) == {"color", "caption"} and all(0 <= v <= 100 for v in rows[1]["heldout"].values())


def test_tower_probe_reports_accuracy_beside_the_majority_class(monkeypatch, capsys):
    from research import tower_probe

    out = run(tower_probe, [str(built_checkpoint(get_preset("tiny_scratch"))), "--task", "stroke", "--steps", "2"],
              monkeypatch, capsys)
    assert "stroke named in" in out and "majority class" in out


def test_answer_token_loss_prints_each_answer_piece_with_its_loss(monkeypatch, capsys):
    from research import answer_token_loss

    out = run(answer_token_loss, [str(built_checkpoint(get_preset("tiny_scratch"))), "--skill", "pathology",
                                  "--steps", "1", "--show", "2"], monkeypatch, capsys)
    assert "mlp_gate_up on pathology, 1 steps" in out and out.count("reference") == 2 and "<eos>:" in out


def test_format_probe_asks_one_content_in_four_answer_formats_and_runs_both_arms(tmp_path, monkeypatch, capsys):
    import lmmcl.data.skill as skill_module
    from lmmcl.data.synthetic import COLORS, SHAPES
    from research import format_probe

    monkeypatch.setattr(skill_module, "SKILL_CONFIG_DIR", skill_module.SKILL_CONFIG_DIR)  # restored afterwards
    format_probe.register_formats(tmp_path / "skills")
    data = skill_module.get_skill("formats").dataset("train", 80, seed=0)
    forms = {"a letter.": set("ABCD"), "a number.": set("1234"), "yes or no.": {"yes", "no"},
             "a word.": {*COLORS, *SHAPES}}
    seen = set()
    for sample in (data[i] for i in range(len(data))):
        form = next(f for f in forms if sample.question.endswith(f))
        assert sample.answer in forms[form], (sample.question, sample.answer)
        seen.add(form)
    assert seen == set(forms)
    base = built_checkpoint(get_preset("tiny_scratch"))
    out = run(format_probe, ["--out", str(tmp_path / "probe"), "--base", str(base),
                             "--samples", "24", "--steps", "1", "--train-size", "8", "--test-size", "4",
                             "--threads", "1"], monkeypatch, capsys)
    tags = [json.loads(line)["tag"] for line in (tmp_path / "probe" / "curves.jsonl").read_text().splitlines()]
    assert "base model held-out test scores" in out and tags == ["count_control", "count_formats"]
    assert (tmp_path / "probe" / "skills" / "formats.yaml").exists()  # the skills copy stays with the results



def test_lost_answers_counts_answers_lost_since_the_base_and_which_left_the_questions_answer_set(tmp_path, capsys):
    from research import lost_answers

    run = tmp_path / "run"
    answers = {0: {"choice": ["A", "B", "C"], "caption": ["red square", "blue circle"]},  # all right at the base
               1: {"choice": ["A", "1", "D"], "caption": ["red red", "zip circle"]}}
    for stage, skills in answers.items():
        (run / "samples" / str(stage)).mkdir(parents=True)
        for skill, predictions in skills.items():
            refs = answers[0][skill]
            lines = [json.dumps({"prediction": p, "references": [r], "score": float(p == r)})
                     for p, r in zip(predictions, refs)]
            (run / "samples" / str(stage) / f"{skill}.jsonl").write_text("\n".join(lines) + "\n")
    (run / "report.json").write_text(json.dumps({"heldout": ["choice", "caption"],
                                                 "stages": [{"name": "base"}, {"name": "count"}]}))
    [row] = lost_answers.lost_answers(run)
    # lost: choice '1' (foreign) and 'D' (a letter, but not among this test set's answers A-C: foreign too),
    # caption 'red red' (its words are the references') and 'zip circle' ('zip' is no reference word: foreign)
    assert (row["stage"], row["lost"], row["foreign"]) == ("count", 4, 3)
    done = tmp_path / "cmp" / "jobs" / "done"
    done.mkdir(parents=True)
    for seed in (0, 100):
        (done / f"mlp-seed{seed}.json").write_text(json.dumps({"args": ["fit", "--seed_everything", str(seed)],
                                                               "row": {"recipe": "mlp", "run_dir": str(run)}}))
    lost_answers.main([str(tmp_path / "cmp"), "--seeds", "0"])
    out = capsys.readouterr().out
    assert "mlp (1 runs)" in out and "lost    4.0 per run, foreign  75.0 %" in out
