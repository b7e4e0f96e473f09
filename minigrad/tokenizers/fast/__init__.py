"""The compiled path of the tokenizers: numba kernels that give the reference's answers faster.

Each module here has a readable reference one level up, and tests that hold the two equal (also
with ``NUMBA_DISABLE_JIT=1``, where the kernels run as plain Python):

* ``unicode_table`` + ``scanners`` + ``pretokenize``: the built-in split patterns as hand-written
  state machines over UTF-8 (reference: ``tokenizers.pretokenize.split_reference``, ``regex``);
* ``tables``: the one hash mixer, a table of int64 keys (token pairs) and a table of distinct
  byte strings (reference: ``dict`` and ``collections.Counter``);
* ``chunk_encoder`` + ``token_table`` + ``encoder``: the whole encode of a built-in pattern,
  bytes in and ids out, with a bounded pre-token cache per thread, and the merge rule compiled
  (reference: ``BPETokenizer``'s per-chunk loop, ``merge.merge_heap``, tiktoken);
* ``parallel``: threads for batches and for one long text cut at safe points;
* ``merge_loop``: the trainer's state and merge loop (reference: ``naive_trainer``), with its
  heap and sorts in ``ordering`` (reference: ``heapq``, ``sorted``);
* ``prefetch``: a cache hint for the compiled loops (no effect on results);
* ``interrupt``: Ctrl-C during long compiled work.

Imports point one way: these modules use the pattern registry (``tokenizers.patterns``) and the
surrogate policy (``tokenizers.pretokenize.replace_surrogates``), never the API modules
(``bpe``, ``trainer``, ``io``, ``word``).  Those reach this package only from inside the
functions that need it, so that importing the tokenizers does not load numba.
"""
