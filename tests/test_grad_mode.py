"""Grad mode: ``no_grad`` / ``enable_grad`` / ``set_grad_enabled`` as context managers and
decorators, nesting, and restoring the previous mode even when an exception escapes."""

from __future__ import annotations

import pytest

import minigrad as mg


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    assert mg.is_grad_enabled()
    yield
    assert mg.is_grad_enabled(), "a test left grad mode switched off"


def test_no_grad_context_records_nothing():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
        z = (x.exp() @ x).sum()
    assert mg.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.grad_fn is None and t.is_leaf
    assert (x * 2).requires_grad  # recording is back on after the block


def test_no_grad_as_decorator():
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad()
    def evaluate(t):
        """Docstring kept."""
        assert not mg.is_grad_enabled()
        return t * 3

    y = evaluate(x)
    assert not y.requires_grad
    assert mg.is_grad_enabled()
    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Docstring kept."


def test_enable_grad_nested_inside_no_grad():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = x * 2
            with mg.no_grad():
                z = x * 2
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
        w = x * 2
    assert y.requires_grad and not z.requires_grad and not w.requires_grad
    y.backward()
    assert x.grad[0] == 2.0


def test_enable_grad_as_decorator_inside_no_grad():
    @mg.enable_grad()
    def train_step(t):
        return t * t

    x = mg.tensor([3.0], requires_grad=True)
    with mg.no_grad():
        y = train_step(x)
        assert not mg.is_grad_enabled()
    y.backward()
    assert x.grad[0] == 6.0


def test_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0  # noqa: B018

    @mg.no_grad()
    def boom():
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()


def test_set_grad_enabled():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with mg.set_grad_enabled(True):
        assert (x * 2).requires_grad
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()


def test_no_grad_reused_instance():
    ctx = mg.no_grad()
    for _ in range(2):
        with ctx:
            assert not mg.is_grad_enabled()
        assert mg.is_grad_enabled()


def test_no_grad_works_as_a_bare_decorator():
    @mg.no_grad
    def double(t):
        return t * 2

    x = mg.randn(3, requires_grad=True)
    assert not double(x).requires_grad
    assert (x * 2).requires_grad  # the mode is restored after the call
