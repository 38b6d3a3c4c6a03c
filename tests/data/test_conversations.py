"""Conversation files as skills: LLaVA-JSON / ShareGPT and chat JSONL, multi-turn and multi-image rows, bad rows
counted, every assistant turn trained through each family's own chat template."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from lmmcl.data.collate import IGNORE_INDEX, Collator
from lmmcl.data.skill import get_skill
from lmmcl.errors import LmmclError

COLORS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rgb in COLORS.items():
        Image.new("RGB", (32, 32), rgb).save(folder / f"{name}.png")


def llava_rows() -> list[dict]:
    """Good rows (one turn, two turns, two images) and one bad row of each kind."""
    rows = [{"id": f"c{k}", "image": f"{c}.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat colour is this?"}, {"from": "gpt", "value": c}]}
        for k, c in enumerate(COLORS)]
    rows.append({"image": "red.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat colour is this?"}, {"from": "gpt", "value": "red"},
        {"from": "human", "value": "And is it dark?"}, {"from": "gpt", "value": "no"}]})
    rows.append({"image": ["red.png", "blue.png"], "conversations": [
        {"from": "human", "value": "<image> then <image>: which colour comes second?"}, {"from": "gpt", "value": 7}]})
    rows += [{"image": "nothere.png", "conversations": [{"from": "human", "value": "<image>\nColour?"},
                                                         {"from": "gpt", "value": "red"}]},
             {"image": "red.png", "conversations": [{"from": "human", "value": "<image>\nColour?"}]},
             {"image": ["red.png", "blue.png"], "conversations": [{"from": "human", "value": "<image>\nColour?"},
                                                                  {"from": "gpt", "value": "red"}]}]
    return rows


def chat_rows() -> list[dict]:
    rows = [{"messages": [{"role": "user", "content": [{"type": "image", "image": "images/green.png"},
                                                       {"type": "text", "text": "What colour is this?"}]},
                          {"role": "assistant", "content": "green"}]},
            {"messages": [{"role": "user", "content": "<image>What colour is this?"},
                          {"role": "assistant", "content": [{"type": "text", "text": "blue"}]}],
             "images": ["images/blue.png"]},
            {"messages": [{"role": "user", "content": "What colour?"}], "images": ["images/red.png"]}]
    return rows


@pytest.fixture
def skill_files(tmp_path):
    """A LLaVA-JSON skill (images beside a separate image_folder) and a chat-JSONL skill, outside the repository."""
    write_images(tmp_path / "pictures")
    write_images(tmp_path / "chat" / "images")
    (tmp_path / "llava.json").write_text(json.dumps(llava_rows()))
    (tmp_path / "chat" / "chat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chat_rows()))
    (tmp_path / "colours.yaml").write_text("type: conversations\nmetric: exact_match\nimage_folder: pictures\n"
                                           "splits:\n  train: {path: llava.json}\n  test: {path: llava.json}\n")
    (tmp_path / "chat.yaml").write_text("type: conversations\nname: chatted\nsplits:\n"
                                        "  train: {path: chat/chat.jsonl}\n  test: {path: chat/chat.jsonl}\n")
    return tmp_path


def test_llava_json_rows_become_samples_and_bad_rows_are_counted(skill_files):
    skill = get_skill(str(skill_files / "colours.yaml"))
    assert skill.name == "colours" and skill.survey("train") == (8, {"missing_image": 1, "no_assistant_turn": 1,
                                                                    "image_count_mismatch": 1})
    data = skill.dataset("train")
    assert len(data) == 5 and data.load_bad_records == {"missing_image": 1, "no_assistant_turn": 1,
                                                        "image_count_mismatch": 1}
    single, multi_turn, two_images = data[0], data[3], data[4]
    assert (single.question, single.answer, single.messages) == ("What colour is this?", "red", [])
    assert multi_turn.question == "And is it dark?" and multi_turn.answer == "no"
    assert [m["role"] for m in multi_turn.messages] == ["user", "assistant", "user", "assistant"]
    assert len(two_images.images) == 2 and two_images.answer == "7"  # an integer answer in the JSON
    assert two_images.images[1].getpixel((0, 0)) == COLORS["blue"]


def test_chat_jsonl_rows_take_image_parts_and_the_images_list(skill_files):
    skill = get_skill(str(skill_files / "chat.yaml"))
    assert skill.name == "chatted" and skill.survey("test") == (3, {"no_assistant_turn": 1})
    data = skill.dataset("test")
    assert [(s.question, s.answer, s.messages) for s in data] == [("What colour is this?", "green", []),
                                                                  ("What colour is this?", "blue", [])]
    assert data[1].image.getpixel((0, 0)) == COLORS["blue"]


def test_a_malformed_file_names_its_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"messages": []}\n{"messages": [\n')
    (tmp_path / "s.yaml").write_text("type: conversations\nsplits:\n  test: {path: bad.jsonl}\n")
    with pytest.raises(LmmclError, match=r"bad.jsonl is not valid JSON Lines: .* line 2"):
        get_skill(str(tmp_path / "s.yaml")).dataset("test")


def processor_of(preset: str):
    from lmmcl.models.presets import built_checkpoint, get_preset
    from lmmcl.models.processors import load_processor

    return load_processor(built_checkpoint(get_preset(preset)))


@pytest.mark.parametrize("preset", ["tiny_scratch", "tiny_onevision", "tiny_next", "tiny_qwen2_5_vl"])
def test_every_assistant_turn_is_trained_through_the_family_chat_template(skill_files, preset):
    processor = processor_of(preset)
    data = get_skill(str(skill_files / "colours.yaml")).dataset("train")
    batch = Collator(processor, train=True, max_length=4096)([data[0], data[3], data[4]])
    assert batch["bad_records"] == {}
    alone = Collator(processor, train=True, max_length=4096)([data[3], data[4]])  # conversations only
    assert torch.equal(alone["labels"][0], batch["labels"][1][:alone["labels"].shape[1]])
    tokenizer = processor.tokenizer
    eos = tokenizer.eos_token_id
    trained = []
    for labels in batch["labels"]:
        kept = labels[labels != IGNORE_INDEX].tolist()
        turns, turn = [], []
        for token in kept:  # each assistant turn ends with the end-of-turn token
            turn.append(token)
            if token == eos:
                turns.append(tokenizer.decode(turn, skip_special_tokens=True).strip())
                turn = []
        trained.append(turns)
    assert trained == [["red"], ["red", "no"], ["7"]]
    image = processor.tokenizer.convert_tokens_to_ids(getattr(processor, "image_token", "<image>"))
    per_row = (batch["input_ids"] == image).sum(dim=1).tolist()
    assert per_row[2] == 2 * per_row[0] > 0 or preset == "tiny_onevision"  # anyres: tokens vary with the tiling
    assert not ((batch["input_ids"] == image) & (batch["labels"] != IGNORE_INDEX)).any()


@pytest.mark.parametrize("preset", ["tiny_scratch", "tiny_qwen2_5_vl"])
def test_evaluation_asks_the_conversation_up_to_its_last_user_turn(skill_files, preset):
    processor = processor_of(preset)
    data = get_skill(str(skill_files / "colours.yaml")).dataset("test")
    batch = Collator(processor, train=False)([data[3]])
    text = processor.tokenizer.decode(batch["input_ids"][0], skip_special_tokens=False)
    assert "What colour is this?" in text and text.rstrip().endswith(processor.apply_chat_template(
        [{"role": "user", "content": "x"}], add_generation_prompt=True, tokenize=False).rstrip()[-9:])
    assert "And is it dark?" in text and "no" not in text.split("And is it dark?")[1].replace("\n", " ").split()
    assert batch["refs"] == [["no"]]


def test_a_model_taking_one_image_counts_a_two_image_row_as_bad(skill_files):
    data = get_skill(str(skill_files / "colours.yaml")).dataset("train")
    batch = Collator(processor_of("tiny_scratch"), train=True, max_images=1)([data[0], data[4]])
    assert batch["bad_records"] == {"multi_image": 1} and batch["input_ids"].shape[0] == 1


def test_a_run_trains_a_stage_on_each_file_and_counts_their_bad_rows(skill_files, cli_fit_args, monkeypatch):
    from lmmcl.train.cli import run

    monkeypatch.chdir(skill_files)  # named by paths relative to the working directory, outside the repository
    run([*cli_fit_args, "--data.skills", "[./colours.yaml, chat.yaml]", "--data.heldout", "[]",
         "--drift.enabled", "false", "--data.train_size", "null", "--data.test_size", "null",
         "--trainer.logger.init_args.save_dir", str(skill_files / "logs")])
    folder = next((skill_files / "logs").glob("*/*/version_*"))
    report = json.loads((folder / "report.json").read_text())
    assert report["skills"] == ["colours", "chatted"]
    assert [s["name"] for s in report["stages"]] == ["base", "colours", "chatted"]
    assert report["stages"][1]["train_samples"]["bad_records"] == {"missing_image": 1, "no_assistant_turn": 1,
                                                                   "image_count_mismatch": 1}
    assert report["samples"]["chatted"] == {"asked": 3, "scored": 2, "skipped": 1,
                                            "bad_records": {"no_assistant_turn": 1}}
    markdown = (folder / "report.md").read_text()
    assert "colours 3 (missing_image 1, no_assistant_turn 1, image_count_mismatch 1)" in markdown


def test_plan_names_the_file_of_each_split(tmp_path):
    from lmmcl.train.plan import dataset_plan, format_plan

    write_images(tmp_path)
    (tmp_path / "train.json").write_text(json.dumps(llava_rows()))
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chat_rows()[:1]))
    (tmp_path / "s.yaml").write_text("type: conversations\nsplits:\n  train: {path: train.json}\n"
                                     "  test: {path: test.jsonl, image_folder: .}\n")
    rows = dataset_plan([str(tmp_path / "s.yaml")])
    assert [(r["split"], r["rows"]) for r in rows] == [("train", 8), ("test", 1)]
    table = format_plan(rows).splitlines()
    assert str(tmp_path / "train.json") in table[2] and str(tmp_path / "test.jsonl") not in table[2]
    assert str(tmp_path / "test.jsonl") in table[3] and str(tmp_path / "train.json") not in table[3]


def test_a_broken_or_empty_file_of_a_later_stage_stops_the_run_as_it_is_built(skill_files):
    from lmmcl.data.datamodule import SkillSequence

    (skill_files / "late.jsonl").write_text(json.dumps(chat_rows()[0]) + "\n{not json\n")
    (skill_files / "late.yaml").write_text("type: conversations\nsplits:\n  train: {path: late.jsonl}\n"
                                           "  test: {path: chat/chat.jsonl}\n")
    with pytest.raises(LmmclError, match=r"late.jsonl is not valid JSON Lines: .* line 2"):
        SkillSequence([str(skill_files / "colours.yaml"), str(skill_files / "late.yaml")], [])
    (skill_files / "late.jsonl").write_text(json.dumps(chat_rows()[2]) + "\n")  # no assistant turn
    with pytest.raises(LmmclError, match=r"late \(train split\): no usable rows in .*late.jsonl"):
        SkillSequence([str(skill_files / "colours.yaml"), str(skill_files / "late.yaml")], [])
