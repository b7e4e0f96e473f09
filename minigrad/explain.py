"""``minigrad explain``: the seed's pipeline on real numbers, one step at a time.

Text -> tokens -> token ids -> one-hot vectors -> embedding lookup -> one training step.  Every
number printed is computed by minigrad itself (``nn.Embedding``, ``nn.functional.one_hot``,
``cross_entropy``, ``backward()``, ``optim.SGD``), so what the learner reads is what the library
does, not a hand-written illustration::

    >>> import io
    >>> result = explain("I love AI", seed_example=True, out=io.StringIO())
    >>> result.ids
    [0, 1, 2]
    >>> fmt_vec(result.embedding_before[1])          # E[1], the seed's row for "love"
    '[0.9, 0.4, 0.2, 0.1]'
    >>> sorted(result.grad_rows)                     # only ids used as inputs get gradient
    [0, 1]

The training step is a next-token task on the sentence itself: each word predicts the word that
follows it ("I" -> "love", "love" -> "AI").  The last word is never an input, so its row of E
gets exactly zero gradient and does not move: the seed's "only the embedding rows corresponding
to token IDs used in the input receive gradients", visible in the output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from itertools import pairwise
from typing import IO

import numpy as np

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.optim import SGD
from minigrad.terminal import Style
from minigrad.tokenizers import BPETokenizer, WordTokenizer

#: The seed's example embedding matrix (V = 3, d = 4).
SEED_MATRIX = np.array(
    [[0.2, 0.1, 0.7, 0.3], [0.9, 0.4, 0.2, 0.1], [0.6, 0.8, 0.5, 0.2]], dtype=np.float32
)
SEED_SENTENCE = "I love AI"


class ExplainError(ValueError):
    """Text or settings the walk-through cannot use (``minigrad explain`` prints it as one line)."""


@dataclass
class ExplainResult:
    """The numbers of a walk-through, for tests and notebooks."""

    tokens: list[str]
    vocab: dict[str, int]
    ids: list[int]
    one_hot: np.ndarray
    embedding_before: np.ndarray
    lookup: np.ndarray
    one_hot_product: np.ndarray
    loss: float
    loss_after: float
    grad: np.ndarray  # dense view of dL/dE, zero rows included
    grad_rows: list[int]  # the ids whose rows got gradient (RowSparseGrad.indices)
    lr: float
    embedding_after: np.ndarray
    bpe_ids: list[int] = field(default_factory=list)
    grad_logits: np.ndarray | None = None  # dL/dlogits, (N, V): (softmax - one_hot) / N
    probs: np.ndarray | None = None  # softmax(logits), (N, V)
    weight_before: np.ndarray | None = None  # the output weights W (V, d)
    grad_weight: np.ndarray | None = None  # dL/dW
    weight_after: np.ndarray | None = None
    check: dict[str, np.ndarray] | None = None  # finite differences of the loss (``check=True``)


def fmt(x: float, digits: int = 4) -> str:
    """A number as the seed writes it: ``0.9`` not ``0.8999999761581543``; ``-0`` as ``0``."""
    s = f"{float(x):.{digits}g}"
    return "0" if s in ("-0", "0", "-0.0") else s


def fmt_vec(v: np.ndarray, digits: int = 4, width: int = 0, fixed: bool = False) -> str:
    """``[0.9, 0.4, 0.2, 0.1]`` (right-aligned to ``width``; ``fixed``: ``digits`` decimals)."""

    def one(x: float) -> str:
        return (f"{float(x):.{digits}f}" if x != 0 else "0") if fixed else fmt(x, digits)

    return "[" + ", ".join(one(x).rjust(width) for x in np.asarray(v).ravel()) + "]"


class _Printer:
    def __init__(self, out: IO[str], style: Style) -> None:
        self.out, self.s = out, style
        self.section = 0

    def __call__(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, title: str) -> None:
        self.section += 1
        self()
        self(self.s.bold(self.s.cyan(f"{self.section}. {title}")))

    def note(self, text: str) -> None:
        self(self.s.dim("   " + text))

    def matrix(self, m: np.ndarray, labels: list[str], digits=4, mark=None, fixed=False) -> None:
        """Rows of a matrix, each labelled; ``mark(i, line)`` may colour a row."""
        width = max(len(fmt_vec([x], digits, 0, fixed)) - 2 for x in np.asarray(m).ravel())
        pad = max(len(lab) for lab in labels)
        for i, (lab, row) in enumerate(zip(labels, m)):
            line = f"   {lab.ljust(pad)}  {fmt_vec(row, digits, width, fixed)}"
            self(mark(i, line) if mark else line)


#: the step of the finite differences that ``check=True`` prints (float64: error about h^2)
FD_STEP = 1e-6


def _loss_of(E: np.ndarray, W: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> float:
    """The step's loss for given E and W, in float64, without recording a graph."""
    with minigrad.no_grad():
        x = F.embedding(inputs, minigrad.tensor(E, dtype="float64"))
        return F.cross_entropy(x @ minigrad.tensor(W, dtype="float64").T, targets).item()


def finite_differences(
    E: np.ndarray, W: np.ndarray, inputs: np.ndarray, targets: np.ndarray, h: float = FD_STEP
) -> dict[str, np.ndarray]:
    """The gradients of the step's loss by central differences, one weight at a time, in
    float64: ``(L(w + h) - L(w - h)) / 2h`` for every entry of the logits, W and E.

    What backward computes with the chain rule, measured instead: nudge one number, see how
    much the loss moves.  Two forward passes per number, so only for tiny models like this one.
    """
    E, W = E.astype(np.float64), W.astype(np.float64)
    logits = E[inputs] @ W.T

    def ce(z: np.ndarray) -> float:
        return F.cross_entropy(minigrad.tensor(z, dtype="float64"), targets).item()

    out = {}
    for key, base, loss in (
        ("logits", logits, ce),
        ("W", W, lambda a: _loss_of(E, a, inputs, targets)),
        ("E", E, lambda a: _loss_of(a, W, inputs, targets)),
    ):
        grad = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            grad[idx] = (loss(plus) - loss(minus)) / (2 * h)
        out[key] = grad
    return out


def _with_check(v: np.ndarray, fd: np.ndarray | None) -> str:
    """``[0.0709, ...]``, or with finite differences ``[0.0709 (fd 0.0709), ...]``."""
    if fd is None:
        return fmt_vec(v, 4, 7, fixed=True)
    return "[" + ", ".join(f"{a: .4f} (fd {b: .4f})" for a, b in zip(v, fd)) + "]"


def _check_matrix(p: _Printer, m: np.ndarray, fd: np.ndarray | None, labels, mark=None) -> None:
    if fd is None:
        p.matrix(m, labels, mark=mark, fixed=True)
        return
    pad = max(len(lab) for lab in labels)
    for i, (lab, row) in enumerate(zip(labels, m)):
        line = f"   {lab.ljust(pad)}  {_with_check(row, fd[i])}"
        p(mark(i, line) if mark else line)


def _bpe_view(p: _Printer, text: str, tok: BPETokenizer) -> list[int]:
    ids = tok.encode_ordinary(text)
    p.heading("The same text with a BPE tokenizer (subword tokens)")
    p.note(f"{tok!r}: the split pattern cuts the text into chunks, then each chunk's")
    p.note("UTF-8 bytes are merged by rank (see minigrad.tokenizers.bpe).")
    for i in ids:
        raw = tok.decode_single_token_bytes(i)
        shown = raw.decode("utf-8", errors="backslashreplace")
        p(f"   {p.s.yellow(str(i).rjust(6))}  {shown!r}")
    p(f"   ids: {ids}")
    p.note(f"A BPE vocabulary has {tok.n_vocab} tokens, so its embedding matrix has that many")
    p.note("rows. The rest of this walk-through uses the word-level ids, to keep it printable.")
    return ids


def explain(
    text: str = SEED_SENTENCE,
    *,
    seed_example: bool = False,
    tokenizer: BPETokenizer | None = None,
    dim: int = 4,
    lr: float = 0.5,
    seed: int = 0,
    out: IO[str] | None = None,
    style: Style | None = None,
    check: bool = False,
) -> ExplainResult:
    """Print the walk-through of ``text`` to ``out`` and return its numbers.

    ``seed_example=True`` uses the seed's 3 x 4 matrix ``E`` (the text must have exactly 3
    distinct words); otherwise ``E`` is a freshly initialised ``nn.Embedding(V, dim)`` from
    ``seed``.  ``lr`` is the SGD learning rate of the training step.  Raises
    :class:`ExplainError` for fewer than two words, a ``seed_example`` text without exactly
    three distinct words, ``dim < 1`` or ``lr <= 0``.
    """
    p = _Printer(out or sys.stdout, style or Style(False))
    s = p.s
    words = WordTokenizer.tokenize(text)
    if len(words) < 2:
        raise ExplainError(
            f"explain needs at least 2 words (one to predict the next), got {text!r}"
        )
    vocab_tok = WordTokenizer(words)
    V = vocab_tok.n_vocab
    if seed_example:
        if V != 3:
            raise ExplainError(
                f"--seed-example uses the seed's 3 x 4 matrix, so the text needs exactly 3 "
                f"distinct words; {text!r} has {V}"
            )
        dim = 4
    if dim < 1:
        raise ExplainError(f"--dim must be at least 1, got {dim}")
    if not lr > 0:
        raise ExplainError(f"--lr must be positive, got {lr}")
    ids = vocab_tok.encode(text)
    labels = [f"{w!r} ({i})" for w, i in vocab_tok.token_to_id.items()]

    p(s.bold(f"The seed's pipeline on {text!r}:  Text -> Tokens -> Token IDs -> Embedding vectors"))
    p.heading("Tokenization: text -> tokens")
    p(f"   {text!r}  ->  {words}")
    p.note("A word-level tokenizer splits on whitespace (minigrad.tokenizers.WordTokenizer).")

    p.heading("Encoding: tokens -> token ids (the vocabulary)")
    for w, i in vocab_tok.token_to_id.items():
        p(f"   {w!r} -> {s.yellow(i)}")
    p(f"   sequence: {s.yellow(ids)}")
    p.note(f"V = {V} distinct tokens. Still symbolic: id 1 is not 'more' than id 0.")

    bpe_ids = _bpe_view(p, text, tokenizer) if tokenizer is not None else []

    onehot = F.one_hot(np.array(ids), V).data
    p.heading(f"One-hot encoding: each id -> a vector of length V = {V}")
    p.matrix(onehot, [repr(w) for w in words], digits=1)
    p.note("Exactly one 1 per row, at the token's id. Every pair of tokens is equally far apart:")
    p.note("one-hot vectors preserve identity but carry no similarity.")

    emb = nn.Embedding(V, dim, sparse=True)
    minigrad.manual_seed(seed)
    emb.reset_parameters()
    with minigrad.no_grad():
        if seed_example:
            emb.weight.copy_(SEED_MATRIX)
    E0 = emb.weight.data.copy()
    p.heading(f"The embedding matrix E: V x d = {V} x {dim}, a learnable parameter")
    source = "the seed's example matrix" if seed_example else f"random N(0, 1), seed {seed}"
    p.note(f"values: {source}")
    p.matrix(E0, labels)

    lookup = emb(np.array(ids)).data
    product = (minigrad.tensor(onehot.astype(np.float32)) @ minigrad.tensor(E0)).data
    p.heading("Embedding lookup: id i -> row E[i]")
    for w, i in zip(words, ids):
        p(f"   {w!r} -> id {i} -> E[{i}] = {s.green(fmt_vec(E0[i]))}")
    p(f"   lookup output for the sequence: L x d = {lookup.shape[0]} x {lookup.shape[1]}")
    p.matrix(lookup, [repr(w) for w in words])
    same = np.array_equal(lookup, product)
    p(
        f"   one_hot @ E gives the same matrix: {s.green('yes') if same else s.red('NO')}"
        f" (max |difference| = {fmt(np.abs(lookup - product).max())})"
    )
    p.note(
        "Multiplying by a one-hot vector picks one row; lookup reads it directly (no V x d work)."
    )

    # ---- one training step ------------------------------------------------------------
    inputs, targets = np.array(ids[:-1]), np.array(ids[1:])
    minigrad.manual_seed(seed + 1)
    head = nn.Linear(dim, V, bias=False)
    opt = SGD([emb.weight, head.weight], lr=lr)
    p.heading("One training step on a next-token loss")
    for a, b in pairwise(words):
        p(f"   input {a!r} -> should predict {b!r}")
    p.note(
        f"model: logits = E[input] @ W.T, W = output weights ({V} x {dim}, random seed {seed + 1})"
    )
    logits = head(emb(inputs))
    loss = F.cross_entropy(logits, targets)
    probs = logits.softmax(-1).data
    for k, (a, b) in enumerate(pairwise(words)):
        p(
            f"   P({b!r} | {a!r}) = {fmt(probs[k, targets[k]], 3)}   -log P = "
            f"{fmt(-np.log(probs[k, targets[k]]), 4)}"
        )
    p(
        f"   loss = mean cross-entropy = {s.bold(fmt(loss.item(), 5))}"
        f"   (a uniform guess would give log V = {fmt(np.log(V), 4)})"
    )

    logits.retain_grad()  # an intermediate keeps .grad only when asked: shown below
    opt.zero_grad()
    loss.backward()
    g = emb.weight.grad
    grad = g.to_dense() if hasattr(g, "to_dense") else np.asarray(g)
    rows = [int(i) for i in (g.indices if hasattr(g, "indices") else np.nonzero(grad.any(1))[0])]
    grad_logits, grad_w = np.asarray(logits.grad), np.asarray(head.weight.grad)
    W0 = head.weight.data.copy()
    n = len(inputs)
    fd = finite_differences(E0, W0, inputs, targets) if check else None
    p.heading("Backpropagation: the gradient from the loss back to W and E")
    p.note("The chain rule, one op at a time from the loss back; every number is backward()'s.")
    if check:
        p.note("(fd ...) beside a number: the finite difference (L(w + h) - L(w - h)) / 2h for")
        p.note(f"that one weight, h = {FD_STEP:g}, computed in float64 without backward().")
    p(f"   dL/dlogits = (softmax(logits) - one_hot(target)) / N,   N = {n} (the loss is a mean)")
    onehot_t = np.eye(V)[targets]
    for k, (a, b) in enumerate(pairwise(words)):
        p(f"   {a!r} -> {b!r}:")
        p(f"      p = softmax(logits)   {fmt_vec(probs[k], 4, 7, fixed=True)}")
        p(f"      y = one_hot({b!r})".ljust(28) + fmt_vec(onehot_t[k], 4, 7))
        checked = _with_check(grad_logits[k], None if fd is None else fd["logits"][k])
        p(f"      (p - y) / {n}".ljust(28) + s.yellow(checked))
    p.note("Each row pushes the right word's logit up (p - 1 < 0) and every other one down.")
    p("   dL/dW = dL/dlogits^T @ x   (x = E[input]: every row of W gets a gradient)")
    _check_matrix(p, grad_w, None if fd is None else fd["W"], labels)
    p("   dL/dE[i] = sum over the inputs k with id i of ((p_k - y_k) / N) @ W")

    def mark(i: int, line: str) -> str:
        return s.red(line) if i in rows else s.dim(line)

    _check_matrix(p, grad, None if fd is None else fd["E"], labels, mark=mark)
    for i, w in enumerate(vocab_tok.id_to_token):
        if i in rows:
            count = int((inputs == i).sum())
            times = "" if count == 1 else f" {count} times (its row is the sum over those uses)"
            p(f"   row {i} ({w!r}): non-zero, id {i} was an input{times}")
        else:
            p(f"   row {i} ({w!r}): {s.bold('exactly 0')}, id {i} never appears as an input")
    p.note(f"Embedding(sparse=True) stores only those rows: grad.indices = {rows}")
    if fd is not None:
        worst = max(
            float(np.abs(grad_logits - fd["logits"]).max()),
            float(np.abs(grad_w - fd["W"]).max()),
            float(np.abs(grad - fd["E"]).max()),
        )
        p(f"   backward() and finite differences agree: max |difference| = {worst:.1e}")

    p.heading(f"The update: w <- w - lr * dL/dw for W and for E,  lr = {fmt(lr)}")
    opt.step()
    E1 = emb.weight.data.copy()
    W1 = head.weight.data.copy()
    p("   W (every row moves: each row is a word's output direction)")
    for c, w in enumerate(vocab_tok.id_to_token):
        p(f"   W[{c}] ({w!r})")
        p(f"      before {fmt_vec(W0[c])}")
        p(f"      - {fmt(lr)} * {fmt_vec(grad_w[c], fixed=True)}")
        p(f"      after  {s.green(fmt_vec(W1[c]))}")
    p("   E (only the rows of ids that were inputs move)")
    for i, w in enumerate(vocab_tok.id_to_token):
        moved = i in rows
        p(f"   E[{i}] ({w!r})")
        p(f"      before {fmt_vec(E0[i])}")
        if moved:
            p(f"      - {fmt(lr)} * {fmt_vec(grad[i], fixed=True)}")
            p(f"      after  {s.green(fmt_vec(E1[i]))}")
        else:
            p(f"      after  {fmt_vec(E1[i])}  {s.dim('(unchanged: no gradient)')}")
    with minigrad.no_grad():
        loss_after = F.cross_entropy(head(emb(inputs)), targets).item()
        only_e = _loss_of(E1, W0, inputs, targets)
        only_w = _loss_of(E0, W1, inputs, targets)
    p(
        f"   the loss drop comes from both: updating only E gives {fmt(only_e, 5)}, only W "
        f"{fmt(only_w, 5)}, both {fmt(loss_after, 5)}"
    )
    p(f"   same inputs after the step: loss {fmt(loss.item(), 5)} -> {s.bold(fmt(loss_after, 5))}")
    p()
    p(
        s.bold(
            "Lookup only reads E; training writes useful values into it, one step like this at a "
            "time."
        )
    )
    p(s.dim("Next: `minigrad train` repeats this step thousands of times on a corpus and measures"))
    p(s.dim("whether words used in similar contexts end up with similar rows."))
    return ExplainResult(
        tokens=words,
        vocab=dict(vocab_tok.token_to_id),
        ids=ids,
        one_hot=onehot,
        embedding_before=E0,
        lookup=lookup,
        one_hot_product=product,
        loss=loss.item(),
        loss_after=loss_after,
        grad=grad,
        grad_rows=rows,
        lr=lr,
        embedding_after=E1,
        bpe_ids=bpe_ids,
        grad_logits=grad_logits,
        probs=probs,
        weight_before=W0,
        grad_weight=grad_w,
        weight_after=W1,
        check=fd,
    )
