"""Builds capigate's optional C accelerators: every ``src/capigate/_c*.c`` is one extension.

Each accelerator speeds up a pure-Python path that stays the reference (tests compare the two);
a machine without a C compiler gets a working capigate without them.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup

COMPILE_ARGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
SOURCES = sorted(Path("src/capigate").glob("_c*.c"))
HEADERS = sorted(str(path) for path in Path("src/capigate").glob("_c*.h"))

setup(
    ext_modules=[
        Extension(
            f"capigate.{path.stem}",
            [str(path)],
            depends=HEADERS,
            extra_compile_args=COMPILE_ARGS,
            optional=True,
        )
        for path in SOURCES
    ]
)
