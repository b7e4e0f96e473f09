"""The compiled path of the tokenizers (placeholder docstring, rewritten below)."""
