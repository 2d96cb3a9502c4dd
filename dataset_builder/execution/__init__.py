"""Execution verification: run a row's solution against its tests, isolated (`sandbox.py`), with the language's
toolchain (`toolchains.py`), many rows at once (`executor.py`). Nothing is imported here: the stage imports what it
uses."""
