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


@pytest.mark.nojit
def test_grad_mode_belongs_to_the_thread_that_sets_it():
    """Interleaved no_grad blocks in two threads: neither sees the other's mode, none sticks.

    With one process-wide flag, thread A entering no_grad while B was inside one made B's
    exit restore A's "off" (or the reverse), leaving grad mode off for good.
    """
    import threading

    a_inside, b_inside, a_may_exit, b_exited = (threading.Event() for _ in range(4))
    seen: dict[str, bool] = {}

    def a():
        with mg.no_grad():
            a_inside.set()
            b_inside.wait(5)
            seen["a in its block, b in its block"] = mg.is_grad_enabled()
            a_may_exit.wait(5)
        seen["a after its block"] = mg.is_grad_enabled()

    def b():
        a_inside.wait(5)
        seen["b before its block, a in its block"] = mg.is_grad_enabled()
        with mg.no_grad():
            b_inside.set()
            a_may_exit.set()
        b_exited.set()
        seen["b after its block"] = mg.is_grad_enabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {
        "a in its block, b in its block": False,
        "b before its block, a in its block": True,
        "b after its block": True,
        "a after its block": True,
    }
    assert mg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_whatever_the_parent_does():
    import threading

    seen = []
    with mg.no_grad():
        t = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_one_no_grad_instance_entered_by_two_threads():
    import threading

    ctx = mg.no_grad()
    barrier = threading.Barrier(2)
    after = []

    def work():
        with ctx:
            barrier.wait(5)
        after.append(mg.is_grad_enabled())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert after == [True, True]


@pytest.mark.nojit
def test_no_grad_on_a_generator_function_covers_its_body():
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad()
    def batches(n):
        """Yields n results computed without a graph."""
        for k in range(n):
            assert not mg.is_grad_enabled()
            received = yield x * k
            assert not mg.is_grad_enabled()
            if received is not None:
                yield received
        return "done"

    gen = batches(2)
    assert mg.is_grad_enabled()  # making the generator runs none of it
    first = next(gen)
    assert mg.is_grad_enabled()  # between yields the caller's mode is back
    assert not first.requires_grad
    assert gen.send("ping") == "ping"
    rest = list(gen)
    assert all(not t.requires_grad for t in rest) and len(rest) == 1
    assert batches.__name__ == "batches" and "without a graph" in batches.__doc__

    def outer():
        return (yield from batches(1))

    g = outer()
    next(g)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"


def test_enable_grad_generator_inside_no_grad_and_exceptions_thrown_in():
    x = mg.tensor([3.0], requires_grad=True)

    @mg.enable_grad()
    def steps():
        try:
            yield x * x
        except KeyError:
            assert mg.is_grad_enabled()
            yield "caught"
        finally:
            assert mg.is_grad_enabled()

    with mg.no_grad():
        gen = steps()
        y = next(gen)
        assert not mg.is_grad_enabled()
        assert gen.throw(KeyError("k")) == "caught"
        gen.close()
        assert not mg.is_grad_enabled()
    assert y.requires_grad
