"""A built-in synthetic language whose words have known meanings (ground-truth classes).

The seed's claim "tokens that appear in similar contexts end up with similar embedding vectors"
can only be *measured* on text where we know which words are similar.  So we write that text
ourselves: a tiny grammar where every word belongs to a class (animals, foods, vehicles, ...)
and all the words of a class are interchangeable, so they occur in exactly the same contexts::

    [TIME ,] the [COLOUR] ANIMAL EAT some [COLOUR] FOOD .

reads "maybe a time word and a comma, the, maybe a colour, an animal, a verb of eating, ...".
``[...]`` is optional (taken half of the time) and an upper-case slot is filled with a random
word of its class.  One sentence it can produce::

    >>> lang = DEFAULT_LANGUAGE
    >>> " ".join(lang.sentence(np.random.default_rng(1)))
    'daily , the tram goes to the beach .'

Why the templates look the way they do: a word's embedding only gets pushed towards its class
if knowing the word helps predict what comes next.  In "the cat eats some bread ." the word
after "some" is always a food, so "." is predictable without looking at which food it was; the
food's row would get no useful signal from that sentence.  So every class also appears where
the context does *not* give it away, and there its class decides what follows: after
"the [COLOUR]" can come an animal (then a verb), a vehicle ("goes"), a food ("is") or a place
("has").  A model trained to predict the next word never sees the classes; if the embeddings
of "cow" and "horse" end up close and far from "carrot", the meaning came from the contexts
alone.

Everything is generated from a seed (``numpy.random.default_rng``), so the corpus is the same
on every machine, with no download and no file.

What it leaves out: real language's messiness (ambiguous words, Zipf frequencies, long-range
structure).  It is a measuring instrument, not a benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from minigrad.validate import positive_int

#: The word classes: the ground truth that training never sees.
CLASSES: dict[str, tuple[str, ...]] = {
    "animal": ("cat", "dog", "horse", "cow", "sheep", "goat", "fox", "rabbit"),
    "food": ("bread", "apple", "rice", "cheese", "soup", "cake", "carrot", "banana"),
    "vehicle": ("car", "bus", "train", "bike", "truck", "boat", "tram", "van"),
    "eating verb": ("eats", "devours", "munches", "nibbles", "chews", "tastes", "gobbles", "licks"),
    "moving verb": ("drives", "rides", "steers", "parks", "boards", "pushes", "pulls", "tows"),
    "colour": ("red", "green", "blue", "yellow", "white", "black", "orange", "purple"),
    "place": ("park", "city", "farm", "market", "village", "forest", "garden", "beach"),
    "time": ("today", "yesterday", "tomorrow", "tonight", "daily", "often", "again", "early"),
}

#: Which class fills each upper-case slot of a template.
SLOTS: dict[str, str] = {
    "ANIMAL": "animal",
    "FOOD": "food",
    "VEHICLE": "vehicle",
    "EAT": "eating verb",
    "MOVE": "moving verb",
    "COLOUR": "colour",
    "PLACE": "place",
    "TIME": "time",
}

#: The grammar: one template per kind of sentence; ``[...]`` is optional.
TEMPLATES: tuple[str, ...] = (
    "[TIME ,] the [COLOUR] ANIMAL EAT some [COLOUR] FOOD .",
    "[TIME ,] the [COLOUR] ANIMAL MOVE a [COLOUR] VEHICLE .",
    "[TIME ,] the [COLOUR] VEHICLE goes to the PLACE .",
    "[TIME ,] the [COLOUR] FOOD is ready .",
    "[TIME ,] the PLACE has a [COLOUR] VEHICLE .",
)


def _groups(template: str) -> list[list[str]]:
    """Split a template into groups: a required word is its own group, ``[a b]`` one group.

    Optional groups are returned with a leading ``"?"`` marker.
    """
    groups: list[list[str]] = []
    current: list[str] | None = None
    for raw in template.split():
        if raw.startswith("["):
            current = ["?"]
        word = raw.strip("[]")
        if current is not None:
            current.append(word)
            if raw.endswith("]"):
                groups.append(current)
                current = None
        else:
            groups.append([word])
    if current is not None:
        raise ValueError(f"unclosed '[' in template {template!r}")
    return groups


@dataclass(frozen=True)
class SyntheticLanguage:
    """A grammar plus word classes; ``sentence(rng)`` samples one sentence as a word list.

    ``classes`` maps a class name to its words, ``slots`` maps a template slot (``ANIMAL``) to a
    class name, ``templates`` are the sentence shapes.  Lower-case template words ("the", "to",
    ".") are function words: they belong to no class.
    """

    classes: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(CLASSES))
    slots: Mapping[str, str] = field(default_factory=lambda: dict(SLOTS))
    templates: Sequence[str] = TEMPLATES

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for name, words in self.classes.items():
            if not words:
                raise ValueError(f"class {name!r} has no words")
            for w in words:
                if w in seen:
                    raise ValueError(f"word {w!r} is in two classes: {seen[w]!r} and {name!r}")
                seen[w] = name
        for slot, name in self.slots.items():
            if name not in self.classes:
                raise ValueError(f"slot {slot!r} names an unknown class {name!r}")
        for t in self.templates:
            for group in _groups(t):
                for word in group:
                    if word.isupper() and word not in self.slots:
                        raise ValueError(f"template {t!r} uses an unknown slot {word!r}")

    @property
    def function_words(self) -> list[str]:
        """Words written literally in the templates ("the", "some", "."), in order of appearance."""
        out: list[str] = []
        for t in self.templates:
            for group in _groups(t):
                for word in group:
                    if word != "?" and not word.isupper() and word not in out:
                        out.append(word)
        return out

    def vocabulary(self) -> list[str]:
        """Every word the language can produce: function words first, then class by class."""
        words = list(self.function_words)
        for members in self.classes.values():
            words.extend(members)
        return words

    def word_classes(self) -> dict[str, str]:
        """``{word: class name}`` for every class word (function words are left out)."""
        return {w: name for name, members in self.classes.items() for w in members}

    def sentence(self, rng: np.random.Generator) -> list[str]:
        """Sample one sentence: pick a template, flip a coin per optional group, fill the slots."""
        template = self.templates[int(rng.integers(len(self.templates)))]
        words: list[str] = []
        for group in _groups(template):
            if group[0] == "?":
                if rng.random() < 0.5:
                    continue
                group = group[1:]
            for word in group:
                if word.isupper():
                    members = self.classes[self.slots[word]]
                    words.append(members[int(rng.integers(len(members)))])
                else:
                    words.append(word)
        return words

    def generate(self, n_sentences: int, seed: int = 0) -> list[str]:
        """``n_sentences`` sentences, each a string of space-separated words ending in ``.``."""
        n_sentences = positive_int(n_sentences, "n_sentences")
        rng = np.random.default_rng(seed)
        return [" ".join(self.sentence(rng)) for _ in range(n_sentences)]


#: The language ``minigrad train`` uses when no ``--corpus`` is given.
DEFAULT_LANGUAGE = SyntheticLanguage()

#: Sentences in the default corpus: about 190,000 words, a minute of training on 2 cores.
DEFAULT_SENTENCES = 20_000


@dataclass(frozen=True)
class SyntheticCorpus:
    """A generated corpus: its sentences, the whole text, and the language that made it."""

    sentences: list[str]
    language: SyntheticLanguage
    seed: int

    @property
    def text(self) -> str:
        """All sentences, one per line."""
        return "\n".join(self.sentences) + "\n"

    def words(self) -> list[str]:
        """The corpus as one stream of words (sentences end with the word ``.``)."""
        return self.text.split()

    def word_classes(self) -> dict[str, str]:
        return self.language.word_classes()


def synthetic_corpus(
    n_sentences: int = DEFAULT_SENTENCES,
    seed: int = 0,
    language: SyntheticLanguage = DEFAULT_LANGUAGE,
) -> SyntheticCorpus:
    """Generate the built-in corpus: the same ``seed`` gives the same text everywhere.

    >>> corpus = synthetic_corpus(n_sentences=2, seed=0)
    >>> len(corpus.sentences)
    2
    >>> corpus.word_classes()["horse"]
    'animal'
    """
    return SyntheticCorpus(language.generate(n_sentences, seed), language, seed)
