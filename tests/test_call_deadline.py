"""call_with_deadline: a call's value, exception or hang, on reused threads that a hang retires."""

from __future__ import annotations

import threading

from conformance.results import call_with_deadline


def _thread_name_and_ident() -> tuple[str, int]:
    return threading.current_thread().name, threading.get_ident()


def test_a_call_runs_off_the_calling_thread_and_its_thread_is_reused() -> None:
    first = call_with_deadline(_thread_name_and_ident, 5.0)
    second = call_with_deadline(_thread_name_and_ident, 5.0)
    assert first.value is not None
    assert second.value is not None
    assert first.value[0] == "b24-conformance-call"
    assert first.value[1] != threading.get_ident()
    assert second.value[1] == first.value[1], "an idle call thread is handed the next call"


def test_an_exception_is_kept_as_its_traceback() -> None:
    def fails() -> None:
        raise ValueError("broken on purpose")

    call = call_with_deadline(fails, 5.0)
    assert call.value is None
    assert not call.hung
    assert call.exception is not None
    assert "ValueError: broken on purpose" in call.exception


def test_a_hung_call_is_reported_and_its_thread_is_never_reused() -> None:
    release = threading.Event()
    hung_on: list[int] = []

    def hangs() -> None:
        hung_on.append(threading.get_ident())
        release.wait(10.0)

    try:
        call = call_with_deadline(hangs, 0.05)
        assert call.hung
        after = call_with_deadline(_thread_name_and_ident, 5.0)
        assert after.value is not None
        assert after.value[1] != hung_on[0], "the next call went to the thread still hanging"
    finally:
        release.set()
