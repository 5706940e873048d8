from __future__ import annotations

import os

import pytest

from opsbook.logs import native


@pytest.fixture(params=["native", "numpy"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each scan test runs on the compiled kernel and on the NumPy engine."""
    if request.param == "native" and not native.available():
        message = "the compiled log kernel is not built (no C compiler at install?)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(request.param)
