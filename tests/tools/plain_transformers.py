"""Answer questions about images with an exported model, using transformers alone (no lmmcl import): what a user
of ``lmmcl export``'s folder would write. Run as a script:

    python plain_transformers.py EXPORT_DIR CASES.json MAX_NEW_TOKENS BATCH_SIZE

CASES.json is a list of {"image": PNG path, "question": text}; prints the greedy answers as a JSON list.
"""

import json
import sys
from pathlib import Path

import torch
import transformers
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor


def load_processor(folder: Path):
    try:
        return AutoProcessor.from_pretrained(folder)
    except OSError:  # a family whose processor also wants a video processor, which needs torchvision (absent here)
        family = getattr(transformers, json.loads((folder / "processor_config.json").read_text())["processor_class"])

        class ImagesOnly(family):  # the same processor without the video processor: transformers builds and checks
            @classmethod           # the sub-processors get_attributes names
            def get_attributes(cls):
                return [name for name in super().get_attributes() if name != "video_processor"]

        return ImagesOnly.from_pretrained(folder)


def main(folder: str, cases: str, max_new_tokens: str, batch_size: str) -> None:
    folder = Path(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    processor = load_processor(folder)
    tokenizer = processor.tokenizer
    items = json.loads(Path(cases).read_text())
    answers = []
    for start in range(0, len(items), int(batch_size)):
        batch = items[start:start + int(batch_size)]
        prompts = [processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": item["question"]}]}],
            add_generation_prompt=True, tokenize=False) for item in batch]
        images = [Image.open(item["image"]).convert("RGB") for item in batch]
        inputs = processor(text=prompts, images=images, padding=True, padding_side="left", return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=int(max_new_tokens), do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        new = out[:, inputs["input_ids"].shape[1]:]
        answers += [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]
    print(json.dumps(answers))


if __name__ == "__main__":
    main(*sys.argv[1:])
