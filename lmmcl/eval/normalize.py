"""The one answer normaliser: text clean-up, number words, the official VQA normalisation and answer parsers.

Every metric in :mod:`lmmcl.eval.metrics` reads replies through these functions. Number words are matched as whole
words only: the reference code replaced them inside words ("none" -> "n1" -> 1, "seventeen" -> "7teen" -> 7).
"""

from __future__ import annotations

import math
import re

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ARTICLES = ("a", "an", "the")


def _alternation(words) -> str:
    return "|".join(sorted(words, key=len, reverse=True))  # longest first, so no word stops at a shorter prefix


_TENS_OR_SMALL = (rf"(?:({_alternation(TENS)})(?:[\s-]+({_alternation(NUMBER_WORDS[1:10])}))?"
                  rf"|({_alternation(NUMBER_WORDS)}))")
# "three hundred and twenty-one" / "one hundred" / "twenty-one" / "twenty one" / "seventeen", never part of a
# longer word ("often", "someone").
_NUMBER = re.compile(rf"\b(?:({_alternation(NUMBER_WORDS[1:10])})\s+hundred(?:\s+(?:and\s+)?{_TENS_OR_SMALL})?"
                     rf"|{_TENS_OR_SMALL})\b", re.IGNORECASE)
_ARTICLE = re.compile(rf"\b(?:{_alternation(ARTICLES)})\b")
# Any punctuation except a separator inside a number (3.5, 1,000, 3:45).
_PUNCT = re.compile(r"(?!(?<=\d)[.,:](?=\d))[^\w\s]")


def normalize_text(text: str) -> str:
    """Lowercase, strip and collapse whitespace (the ANLS normalisation)."""
    return " ".join(text.lower().split())


def words_to_digits(text: str) -> str:
    """Replace whole number words zero..nine hundred ninety-nine by digits: "twenty-one cats" -> "21 cats",
    "one hundred and five" -> "105"; "often" is untouched."""

    def value(match: re.Match) -> str:
        hundreds, *rest = match.groups()  # the tens/unit/small groups appear twice: after "hundred" and alone
        tens, unit, small = (a or b for a, b in zip(rest[:3], rest[3:]))
        total = 100 * NUMBER_WORDS.index(hundreds.lower()) if hundreds else 0
        if small:
            total += NUMBER_WORDS.index(small.lower())
        elif tens:
            total += TENS[tens.lower()] + (NUMBER_WORDS.index(unit.lower()) if unit else 0)
        return str(total)

    return _NUMBER.sub(value, text)


def normalize_answer(text: str) -> str:
    """Normalise a short answer for string comparison.

    Lowercase; punctuation becomes a space (except inside numbers); number words become digits; articles go;
    whitespace collapses. "The Black-footed Albatross." -> "black footed albatross", "Three." -> "3".
    """
    text = _PUNCT.sub(" ", text.lower())
    text = _ARTICLE.sub(" ", words_to_digits(text))
    return " ".join(text.split())


# --- the official VQA normalisation (EvalAI / lmms-eval), kept verbatim for TextVQA parity ---------------------------
VQA_NUMBERS = {"none": "0", **{word: str(i) for i, word in enumerate(NUMBER_WORDS[:11])}}
VQA_PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",",
                   "?", "!")
_VQA_PERIOD = re.compile(r"\.(?!\d)")
VQA_CONTRACTIONS = {  # verbatim from the official table, odd entries included ("Im" can never match lowercased text)
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
    "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's",
    "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd", "someoned've": "someone'd've",
    "someone'dve": "someone'd've", "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
    "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas",
    "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't",
    "whatll": "what'll", "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's",
    "whered": "where'd", "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}


def _vqa_punctuation(text: str) -> str:
    # A mark touching a space is deleted, otherwise it splits words ("t-shirt" -> "t shirt"). The official
    # digit,digit exception never fires here: commas are deleted before this step.
    out = text
    for mark in VQA_PUNCTUATION:
        out = out.replace(mark, "" if (mark + " " in text or " " + mark in text) else " ")
    return _VQA_PERIOD.sub("", out)


def normalize_vqa(text: str) -> str:
    """The official VQA answer normalisation (docs/reference/datasets.md, TextVQA): "Two Dogs!" -> "2 dogs"."""
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's")
    text = _vqa_punctuation(" ".join(text.split()))
    words = [VQA_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(VQA_CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES)


# --- parsers ---------------------------------------------------------------------------------------------------------
_NO_COUNT = re.compile(r"\b(?:none|no)\b")


# An integer with an optional sign (not a hyphen inside a word or range: "3-4") and thousands separators.
_INTEGER = re.compile(r"(?<![\w.,])([-+\u2212]?)(\d{1,3}(?:,\d{3})+(?!\d)|\d+)")


def parse_count(text: str) -> int | None:
    """The count a reply states: the first integer or whole number word; else 0 for "none"/"no"; else None.

    "seventeen" -> 17, "1,000" -> 1000, "-3" -> -3, "one hundred" -> 100, "There are no cats" -> 0,
    "No, there are three." -> 3, "often" -> None.
    """
    text = words_to_digits(text.lower())
    match = _INTEGER.search(text)
    if match:
        sign, digits = match.groups()
        value = int(digits.replace(",", ""))
        return -value if sign in ("-", "\u2212") else value
    return 0 if _NO_COUNT.search(text) else None


_LETTER_ALONE = re.compile(r"^[(\[]?([A-Za-z])[)\].:]*$")                  # "B", "(B)", "B.", "B)", "[B]"
_LETTER_LEAD = re.compile(r"^[(\[]?([A-Za-z])[)\].:]\s")                   # "B. text", "(B) text", "b) text"
# "answer is B", "Answer: (B)". Possessive quantifiers (*+): no backtracking, so linear time on long whitespace.
_LETTER_CUE = re.compile(r"(?i:answer|option|choice)(?:\s++is)?+\s*+:?+\s*+[(\[]?+([A-Z])(?![A-Za-z])")


def extract_letter(text: str) -> str | None:
    """The multiple-choice letter of a reply, uppercased, or None.

    Accepts "B", "(B)", "B.", "B)", "B. text", "The answer is B", "Answer: B", "option B". A bare word such as
    "A cat" or "I think so" gives None: a letter counts only alone, before punctuation, or after a cue word.
    """
    text = text.strip()
    match = _LETTER_ALONE.match(text) or _LETTER_LEAD.match(text) or _LETTER_CUE.search(text)
    return match.group(1).upper() if match else None


def reference_letter_match(pred: str, gold: str) -> bool:
    """lmms-eval's MMStar rule (SEED-Bench's is its first clause): on the lowercased, stripped reply, the first
    character is the gold letter, or the reply starts with ``(`` or ``option `` or ``the answer is `` and the next
    character is."""
    reply, gold = pred.lower().strip().replace("\n", " "), gold.lower().strip()
    for cue in ("", "(", "option ", "the answer is "):
        if reply.startswith(cue) and reply[len(cue):len(cue) + 1] == gold:
            return bool(gold)
    return False


def parse_clock(text: str, check_range: bool = True) -> tuple[int, int] | None:
    """(hour, minute) from the first "H:MM"-like time, else from the first two integers; None if neither.

    With ``check_range`` a time outside 0..23 hours or 0..59 minutes ("12:60", "25:99") is None, as is an
    unreadable reply; without it, any numbers are taken (the reference's parser).
    """
    match = re.search(r"(\d{1,2}):(\d{1,2})", text)
    numbers = match.groups() if match else re.findall(r"\d+", text)[:2]
    if len(numbers) < 2:
        return None
    hour, minute = int(numbers[0]), int(numbers[1])
    if check_range and not (hour < 24 and minute < 60):
        return None
    return hour, minute


_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_number(text: str) -> float | None:
    """The float a whole reply spells, as ChartQA's relaxed accuracy reads it: "12.5" -> 12.5, "40%" -> 0.4,
    "-3" -> -3.0; thousands separators are read ("1,000" -> 1000.0, where the reference fell back to strings).

    Anything else (units, words, "1,00") gives None.
    """
    text = text.strip()
    percent = text.endswith("%")
    body = text[:-1] if percent else text
    if _THOUSANDS.fullmatch(body):
        body = body.replace(",", "")
    try:
        value = float(body) / (100 if percent else 1)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_yes_no(text: str) -> str | None:
    """The first whole word "yes" or "no" in a reply, lowercased, or None."""
    match = re.search(r"\b(yes|no)\b", text.lower())
    return match.group(1) if match else None


def word_tokens(text: str) -> list[str]:
    """PathVQA script tokens: lowercase, keep letters and whitespace only (digits vanish), split."""
    return re.sub(r"[^a-z\s]", "", text.lower()).split()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
