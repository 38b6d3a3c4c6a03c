"""A target skill in the conversation formats users bring their own data in (docs/guide/own_data.md), for the
rehearsal: its training split a LLaVA-JSON file, its test split a chat-JSONL file, pictures drawn here beside
them, and the skill YAML naming both. Each split has one-turn rows, two-turn rows (every assistant turn trained)
and bad rows of the kinds lmmcl skips and counts: a missing image, no assistant turn, more images than ``<image>``
marks, an empty question (training); a row of neither shape (test).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

NAME = "colours_chat"
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 60, 220), "yellow": (230, 210, 40)}
QUESTION = "What colour is the picture?"
FOLLOW_UP = "Is it red?"
# bad rows: training (LLaVA-JSON) and test (chat JSONL), each counted by report.md under its reason
TRAIN_BAD = {"missing_image": 1, "no_assistant_turn": 1, "image_count_mismatch": 1, "empty_question": 1}
TEST_BAD = {"bad_record": 1}
SKILL_YAML = """# written by lmmcl rehearse: LLaVA-JSON training rows, chat-JSONL test rows
type: conversations
metric: exact_match
max_new_tokens: 4
image_folder: images
splits:
  train: {path: train.json}
  test: {path: test.jsonl, image_folder: .}
"""


def draw(folder: Path, name: str, colour: str) -> str:
    """A picture of one colour, ``<folder>/<name>.png``; returns the file name."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), COLOURS[colour]).save(folder / f"{name}.png")
    return f"{name}.png"


def turns(colour: str, two: bool) -> list[tuple[str, str]]:
    """(question, answer) turns of a row: the colour, and with ``two`` whether it is red."""
    return [(QUESTION, colour)] + ([(FOLLOW_UP, "yes" if colour == "red" else "no")] if two else [])


def llava_row(image: str | list[str], pairs: list[tuple[str, str | None]]) -> dict:
    conversations = []
    for k, (question, answer) in enumerate(pairs):
        conversations.append({"from": "human", "value": ("<image>\n" if k == 0 else "") + question})
        if answer is not None:
            conversations.append({"from": "gpt", "value": answer})
    return {"image": image, "conversations": conversations}


def chat_row(image: str, pairs: list[tuple[str, str]]) -> dict:
    messages = []
    for k, (question, answer) in enumerate(pairs):
        content = [{"type": "image", "image": image}, {"type": "text", "text": question}] if k == 0 else question
        messages += [{"role": "user", "content": content}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def write_conversation_skill(root: str | Path, rows: int = 24, seed: int = 0) -> Path:
    """Write ``<root>/colours_chat/`` (``train.json``, ``test.jsonl``, ``images/``, ``colours_chat.yaml``) with
    ``rows`` good rows per split (every other one two turns) and the bad rows above; returns the YAML's path."""
    folder = Path(root) / NAME
    images = folder / "images"
    rng = random.Random(f"{seed}/{NAME}")
    picked = {split: [rng.choice(sorted(COLOURS)) for _ in range(rows)] for split in ("train", "test")}
    train = [llava_row(draw(images, f"train{i}", c), turns(c, i % 2 == 1)) for i, c in enumerate(picked["train"])]
    first = "train0.png"
    train += [llava_row("nothere.png", turns("red", False)),                       # missing_image
              llava_row(first, [(QUESTION, None)]),                                # no_assistant_turn
              llava_row([first, first], turns(picked["train"][0], False)),         # image_count_mismatch
              llava_row(first, [("", picked["train"][0])])]                        # empty_question
    test = [chat_row(f"images/{draw(images, f'test{i}', c)}", turns(c, i % 2 == 1))
            for i, c in enumerate(picked["test"])]
    test.append({"text": "a row of neither shape"})                                # bad_record
    (folder / "train.json").write_text(json.dumps(train, indent=1))
    (folder / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in test))
    skill = folder / f"{NAME}.yaml"
    skill.write_text(SKILL_YAML)
    return skill
