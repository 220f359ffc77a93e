"""Runs one corpus case under the case venv's Python and prints what happened as JSON.

Usage (run.py calls it, one subprocess per case):
    python harness.py CASES_DIR MODULE FUNCTION [WATCH_FILE WATCH_LINE]

A `def case_…` is called; an `async def case_…` is run with `asyncio.run`. The last line of
stdout is `HARNESS {json}` with the outcome: `status` ("ok" or "error"), and for an error its
type, message and traceback frames (outermost first, `[file, line]`), after unwrapping an
exception group that holds a single exception (TaskGroup, anyio task groups). Warnings raised
while the case ran (including "coroutine … was never awaited", after a garbage collection)
are listed too. With WATCH_FILE and WATCH_LINE (a mark whose mistake raises nothing), the
outcome also says whether that line ran (`watched_line_ran`), traced in every thread.
"""

import asyncio
import gc
import importlib
import inspect
import json
import os
import sys
import threading
import traceback
import warnings


def unwrap(error):
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def watch_line(path, line, outcome):
    path = os.path.realpath(path)
    outcome["watched_line_ran"] = False

    def local(frame, event, arg):
        if event == "line" and frame.f_lineno == line:
            outcome["watched_line_ran"] = True
        return local

    def tracer(frame, event, arg):
        if os.path.realpath(frame.f_code.co_filename) == path:
            return local
        return None

    sys.settrace(tracer)
    threading.settrace(tracer)


def main():
    cases_dir, module_name, function_name = sys.argv[1:4]
    sys.path.insert(0, cases_dir)
    outcome = {"status": "ok"}
    if len(sys.argv) > 5:
        watch_line(sys.argv[4], int(sys.argv[5]), outcome)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            function = getattr(importlib.import_module(module_name), function_name)
            if inspect.iscoroutinefunction(function):
                result = asyncio.run(function())
            else:
                result = function()
            outcome["result_type"] = type(result).__name__
        except BaseException as raised:  # noqa: BLE001 - the outcome is the point
            error = unwrap(raised)
            outcome.update(
                status="error",
                type=type(error).__name__,
                message=str(error),
                frames=[[frame.filename, frame.lineno] for frame in traceback.extract_tb(error.__traceback__)],
            )
            if error is not raised:
                outcome["wrapped_in"] = type(raised).__name__
            del raised, error
        sys.settrace(None)
        gc.collect()
    outcome["warnings"] = [
        {"category": w.category.__name__, "message": str(w.message), "filename": w.filename, "lineno": w.lineno}
        for w in caught
    ]
    sys.stdout.flush()
    print("HARNESS " + json.dumps(outcome))


if __name__ == "__main__":
    main()
