"""The built-in synthetic language: seeded, classes disjoint, contexts that define the classes."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import numpy as np
import pytest

from minigrad.data import DEFAULT_LANGUAGE, SyntheticLanguage, synthetic_corpus


def test_same_seed_same_text_and_different_seed_different_text():
    a = synthetic_corpus(200, seed=7)
    assert a.text == synthetic_corpus(200, seed=7).text
    assert a.text != synthetic_corpus(200, seed=8).text


def test_every_word_is_in_the_vocabulary_and_every_class_word_occurs():
    corpus = synthetic_corpus(2000, seed=0)
    vocab = set(DEFAULT_LANGUAGE.vocabulary())
    seen = set(corpus.words())
    assert seen <= vocab
    assert set(corpus.word_classes()) <= seen  # 2000 sentences use every class word
    assert all(s.endswith(" .") for s in corpus.sentences)


def test_classes_the_issue_names_exist_and_are_disjoint():
    classes = DEFAULT_LANGUAGE.classes
    for name in ("animal", "food", "vehicle", "eating verb", "moving verb", "colour"):
        assert len(classes[name]) >= 5
    words = [w for ws in classes.values() for w in ws]
    assert len(words) == len(set(words))
    assert not set(words) & set(DEFAULT_LANGUAGE.function_words)


def test_every_class_has_a_successor_no_other_class_has():
    """What makes the metric meaningful: a word's class shows in what can follow it."""
    words = synthetic_corpus(3000, seed=1).words()
    cls = DEFAULT_LANGUAGE.word_classes()
    follow: dict[str, set[str]] = defaultdict(set)
    for a, b in pairwise(words):
        if a in cls:
            follow[cls[a]].add(cls.get(b, b))
    assert set(follow) == set(DEFAULT_LANGUAGE.classes)
    for name, successors in follow.items():
        others = set().union(*(f for n, f in follow.items() if n != name))
        assert successors - others, (name, successors)


def test_words_of_a_class_occur_in_the_same_contexts():
    """Within a class, each word is seen after the same set of preceding words."""
    words = synthetic_corpus(3000, seed=2).words()
    cls = DEFAULT_LANGUAGE.word_classes()
    before: dict[str, set[str]] = defaultdict(set)
    for a, b in pairwise(words):
        if b in cls:
            before[b].add(cls.get(a, a))
    for members in DEFAULT_LANGUAGE.classes.values():
        assert len({frozenset(before[w]) for w in members}) == 1, members


def test_invalid_languages_and_sizes_are_rejected_with_the_value():
    with pytest.raises(ValueError, match="two classes"):
        SyntheticLanguage(classes={"a": ("x",), "b": ("x",)}, slots={}, templates=())
    with pytest.raises(ValueError, match="unknown slot 'NOPE'"):
        SyntheticLanguage(classes={"a": ("x",)}, slots={"A": "a"}, templates=("NOPE .",))
    with pytest.raises(ValueError, match="-3"):
        DEFAULT_LANGUAGE.generate(-3)


def test_a_custom_language_generates_its_own_sentences():
    lang = SyntheticLanguage(
        classes={"fruit": ("fig", "kiwi")}, slots={"F": "fruit"}, templates=("eat [a] F .",)
    )
    sentences = lang.generate(50, seed=0)
    assert {s.split()[-2] for s in sentences} == {"fig", "kiwi"}
    assert {len(s.split()) for s in sentences} == {3, 4}  # the optional "a"
    assert np.isin(lang.vocabulary(), ["eat", "a", ".", "fig", "kiwi"]).all()
