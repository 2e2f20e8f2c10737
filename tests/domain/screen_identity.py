"""What the safety screen decides, message by message, to show a change decides alike.

A crisis screen made faster must flag exactly what it flagged before. This records, for
every message of the corpus and of the blind sets (read only as input), for thousands of
long generated messages built like bench_safety's and for adversarial text (hidden
characters, look-alike letters, spaced letters, emoji, very long words, one word repeated),
everything the screen decides for English and Spanish conversations: `screen` and
`screen_all`, the phrase found in each reading, the model's score, its best sentence's score
and category, and the words the model read (as a digest).

    python tests/domain/screen_identity.py record OUT.jsonl [--code DIR] [--quick]
    python tests/domain/screen_identity.py compare BEFORE.jsonl AFTER.jsonl

`--code` screens with the code in another checkout (main's, say: `git archive main | tar -x
-C DIR`). test_screen_identity.py checks a small part of it in the suite, against a file
recorded with the code the bot shipped before.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "safety_corpus"
LANGUAGES = ("en", "es")
TOLERANCE = 1e-9
MESSAGE_LENGTH = 4096

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
CYRILLIC = str.maketrans("aeopcyxi", "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456")
GREEK = str.maketrans("aiokv", "\u03b1\u03b9\u03bf\u03ba\u03bd")
EMOJI = ["😢", "💊", "🔪", "👍🏽", "❤️", "🙂", "☠", "🪦", "🫠", "✨"]
APOSTROPHES = "'`\u00b4\u2018\u2019\u201b\u2032\uff07\u02bc"
PUNCTUATION = [".", "!", "?", "...", ";", ":", ",", "\n", " - ", "…", "!!!", "?!", " — ", "\t"]
DIGITS = str.maketrans("oieast", "013457")
SCRIPTS = ["Привет как дела", "καλημέρα φίλε", "今日は疲れた", "مرحبا", "नमस्ते दोस्त", "שלום"]
FILLER = [
    "so",
    "today",
    "was",
    "long",
    "and",
    "I",
    "went",
    "to",
    "the",
    "shop",
    "then",
    "home",
    "again",
    "and",
    "we",
    "talked",
    "about",
    "the",
    "weekend",
    "the",
    "weather",
    "my",
    "sister",
    "her",
    "new",
    "job",
    "the",
    "bus",
    "was",
    "late",
    "again",
    "and",
    "honestly",
    "I",
    "am",
    "tired",
    "but",
    "fine",
    "hoy",
    "fue",
    "un",
    "día",
    "largo",
    "fuimos",
    "al",
    "mercado",
    "y",
    "hablamos",
    "de",
    "todo",
    "un",
    "poco",
]


def corpus_messages() -> Iterator[tuple[str, str]]:
    """(id, text) of every corpus and blind message: the last column of each row."""
    paths = [
        *sorted(CORPUS_DIR.glob("*.tsv")),
        *sorted((CORPUS_DIR / "blind").glob("*.tsv")),
        *sorted((CORPUS_DIR / "train").glob("*.tsv")),
    ]
    for path in paths:
        lines = path.read_text("utf-8").splitlines()
        for number, line in enumerate(lines):
            if line and not line.startswith("#"):
                yield f"{path.parent.name}/{path.name}:{number}", line.split("\t")[-1]


def _sentences() -> list[str]:
    return [text for language in LANGUAGES for _, text in _rows(CORPUS_DIR / f"{language}.tsv")]


def _rows(path: Path) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(path.read_text("utf-8").splitlines()):
        if line and not line.startswith("#"):
            yield str(number), line.split("\t")[-1]


def bench_messages(count: int, seed: int) -> list[str]:
    """Messages as bench_safety.messages builds them (corpus sentences among filler)."""
    rng = random.Random(seed)
    sentences = _sentences()
    made: list[str] = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < MESSAGE_LENGTH:
            piece = rng.choice(sentences) if rng.random() < 0.08 else rng.choice(FILLER)
            parts.append(piece)
            length += len(piece) + 1
        made.append(" ".join(parts)[:MESSAGE_LENGTH])
    return made


def _mutate_word(word: str, rng: random.Random) -> str:
    """One word written one of the ways people (or someone hiding words) write it."""
    kind = rng.randrange(22)
    if not word:
        return word
    if kind == 0 and len(word) > 1:
        at = rng.randrange(1, len(word))
        return word[:at] + rng.choice(ZERO_WIDTH) + word[at:]
    if kind == 1:
        return word.translate(CYRILLIC)
    if kind == 2:
        return word.translate(GREEK)
    if kind == 3:
        return " ".join(word)
    if kind == 4:
        return rng.choice(EMOJI) + word if rng.random() < 0.5 else word + rng.choice(EMOJI)
    if kind == 5:
        return word.translate(DIGITS)
    if kind == 6:
        return word.replace("s", "$").replace("a", "@").replace("i", "!")
    if kind == 7:
        return word.upper()
    if kind == 8:
        return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in word)
    if kind == 9:
        return "".join(
            chr(0x1D41A + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in word.lower()
        )
    if kind == 10:
        at = rng.randrange(len(word))
        return word[:at] + word[at] * rng.randrange(2, 9) + word[at + 1 :]
    if kind == 11 and len(word) > 3:  # a typo: dropped, doubled, swapped or wrong letter
        at = rng.randrange(1, len(word) - 1)
        how = rng.randrange(4)
        if how == 0:
            return word[:at] + word[at + 1 :]
        if how == 1:
            return word[:at] + word[at] + word[at:]
        if how == 2:
            return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
        return word[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[at + 1 :]
    if kind == 12:
        return word + rng.choice(PUNCTUATION)
    if kind == 13:
        at = rng.randrange(len(word) + 1)
        return word[:at] + rng.choice(APOSTROPHES) + word[at:]
    if kind == 14:
        return word + "\u0301"
    if kind == 15:
        return "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(20, 400))
        )
    if kind == 16:
        return str(rng.randrange(0, 100000))
    if kind == 17:
        return rng.choice(SCRIPTS)
    if kind == 18:
        return "#" + word
    if kind == 19:
        return chr(rng.randrange(0x20, 0x30000))
    return word


def _joined(sentence: str, rng: random.Random) -> str:
    """A sentence with some of its words run together (or all of them)."""
    words = sentence.split()
    if rng.random() < 0.3:
        return "".join(words)
    out: list[str] = []
    for word in words:
        if out and rng.random() < 0.4:
            out[-1] += word
        else:
            out.append(word)
    return " ".join(out)


def adversarial_messages(count: int, seed: int) -> list[str]:
    """Corpus sentences and filler with words hidden, run together or repeated."""
    rng = random.Random(seed)
    sentences = _sentences()
    made: list[str] = []
    for index in range(count):
        kind = index % 10
        if kind == 0:  # one word, repeated to the length (with spaces, or none, or stretched)
            word = rng.choice(rng.choice(sentences).split() + FILLER)
            joiner = rng.choice([" ", "", ". ", "\n", " " + rng.choice(EMOJI) + " "])
            text = joiner.join([word] * (MESSAGE_LENGTH // max(1, len(word))))
            made.append(text[:MESSAGE_LENGTH])
            continue
        if kind == 1:  # one very long word, or letters only
            made.append(
                "".join(rng.choice("abcdefghijklmnopqrstuvwxyzilk") for _ in range(MESSAGE_LENGTH))
            )
            continue
        if kind == 2:  # random code points
            made.append(
                "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(rng.randrange(1, 600)))
            )
            continue
        rate = rng.choice([0.02, 0.1, 0.3, 0.7])
        target = rng.choice([40, 200, 1000, MESSAGE_LENGTH])
        parts: list[str] = []
        length = 0
        while length < target:
            piece = rng.choice(sentences) if rng.random() < 0.2 else rng.choice(FILLER)
            if rng.random() < 0.1:
                piece = _joined(piece, rng)
            words = [_mutate_word(w, rng) if rng.random() < rate else w for w in piece.split()]
            piece = " ".join(words)
            parts.append(piece)
            length += len(piece) + 1
        text = rng.choice([" ", " ", ". ", "\n"]).join(parts)
        made.append(text[:target] if rng.random() < 0.7 else text)
    return made


def all_messages(quick: bool) -> Iterator[tuple[str, str]]:
    """Every message checked, with an id that says where it comes from."""
    if not quick:
        yield from corpus_messages()
    for seed in range(2 if quick else 8):
        for number, text in enumerate(bench_messages(25 if quick else 300, seed)):
            yield f"bench:{seed}:{number}", text
    for seed in range(2 if quick else 8):
        for number, text in enumerate(adversarial_messages(50 if quick else 300, 1000 + seed)):
            yield f"adversarial:{seed}:{number}", text
    extra = ["", " ", "...", "\u200b", "😢", "k i l l m y s e l f", "i want to die " * 300]
    for number, text in enumerate(extra):
        yield f"extra:{number}", text


def suite_messages() -> Iterator[tuple[str, str]]:
    """A part of every kind, for the suite (test_screen_identity.py): a few seconds."""
    for number, (name, text) in enumerate(corpus_messages()):
        if number % 60 == 0:
            yield name, text
    for number, text in enumerate(bench_messages(10, 100)):
        yield f"bench:100:{number}", text
    for number, text in enumerate(adversarial_messages(60, 2000)):
        yield f"adversarial:2000:{number}", text


# A record's fields in the order the suite's file keeps them (one list a line).
FIELDS = (
    "id",
    "text",
    "words",
    "sentences",
    "score",
    "stretch",
    "sentence_score",
    "category",
    *(f"{kind}_{language}" for language in LANGUAGES for kind in ("screen", "all", "phrase")),
    *(f"phrase_all_{language}" for language in LANGUAGES),
)


def compact(record: dict[str, Any]) -> list[Any]:
    """A record as a list in FIELDS order, digests shortened (for a file kept in git)."""
    return [
        value[:8] if key in ("text", "words", "sentences", "stretch") and value else value
        for key in FIELDS
        for value in [record.get(key)]
    ]


def _match(found: Any) -> str | None:
    return None if found is None else f"{found.level}/{found.category}"


def _digest(words: Any) -> str:
    return hashlib.sha1("\x1f".join(words).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def record(screen: Any, safety: Any, text: str) -> dict[str, Any]:
    """Everything the screen decides about one message, in English and in Spanish."""
    model = screen.model
    normalised = safety._normalised(text)
    words = safety._model_words(normalised)
    sentences = safety._sentences(normalised)
    out: dict[str, Any] = {
        "text": hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        "words": _digest(words),
        "sentences": _digest(["\x1e".join(sentence) for sentence in sentences]),
    }
    if model is not None and words:
        score, stretch = model.best_stretch(words)
        out["score"] = score
        out["stretch"] = _digest(stretch)
        out["sentence_score"] = model.sentence_score(sentences)
        out["category"] = model.category(stretch)
    for language in LANGUAGES:
        out[f"screen_{language}"] = _match(screen.screen(text, language))
        out[f"all_{language}"] = _match(screen.screen_all(text, language))
        out[f"phrase_{language}"] = _match(screen._phrases(normalised, screen.reading(language)))
        out[f"phrase_all_{language}"] = _match(
            screen._phrases(normalised, screen.reading(language, every=True))
        )
    return out


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys on which two records differ (scores to TOLERANCE)."""
    found: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, float) and isinstance(new, float):
            if not math.isclose(old, new, rel_tol=0, abs_tol=TOLERANCE):
                found.append(f"{key}: {old!r} != {new!r}")
        elif old != new:
            found.append(f"{key}: {old!r} != {new!r}")
    return found


def _load(code: Path | None) -> tuple[Any, Any]:
    if code is not None:
        sys.path.insert(0, str(code))
    from bot.domain import safety  # after --code chose the checkout

    folder = Path(safety.__file__).resolve().parents[2] / "config" / "safety"
    return safety.SafetyScreen.load(folder), safety


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--code", type=Path)
    rec.add_argument("--quick", action="store_true")
    rec.add_argument("--suite", action="store_true", help="the suite's part, compact")
    cmp = commands.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    arguments = parser.parse_args()
    if arguments.command == "record":
        screen, safety = _load(arguments.code)
        print(f"screening with {safety.__file__}", file=sys.stderr)
        chosen = suite_messages() if arguments.suite else all_messages(arguments.quick)
        with arguments.out.open("w", encoding="utf-8") as out:
            for count, (name, text) in enumerate(chosen):
                found = {"id": name, **record(screen, safety, text)}
                line = compact(found) if arguments.suite else found
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                if count % 2000 == 0:
                    print(count, file=sys.stderr)
        return
    before = [json.loads(line) for line in arguments.before.open(encoding="utf-8")]
    after = [json.loads(line) for line in arguments.after.open(encoding="utf-8")]
    if len(before) != len(after):
        sys.exit(f"{len(before)} records against {len(after)}")
    differing = 0
    for old, new in zip(before, after, strict=True):
        if old["id"] != new["id"]:
            sys.exit(f"different messages: {old['id']} and {new['id']}")
        problems = differences(old, new)
        if problems:
            differing += 1
            print(old["id"], "; ".join(problems))
    flagged = sum(1 for old in before if old.get("screen_es") or old.get("screen_en"))
    print(f"{len(before)} messages ({flagged} flagged), {differing} differing")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
