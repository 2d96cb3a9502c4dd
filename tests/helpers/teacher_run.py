"""Driving a teacher backend the way the generate stage does: a journal, token accounting, a progress bar."""

import io

from tqdm.auto import tqdm

from dataset_builder.teacher.base import Accounting
from dataset_builder.teacher.pricing import Prices
from oss_common.journal import Journal


def run_backend(backend, requests, journal_path):
    """`backend.run` over `requests`; returns (journaled rows by raw_index, accounting, progress count), the rows
    also when the run raises."""
    accounting = Accounting(Prices(None, None, None, batch=False))
    with Journal(journal_path) as journal, tqdm(total=len(requests), file=io.StringIO()) as progress:
        try:
            backend.run(iter(requests), len(requests), journal, accounting, progress)
        finally:
            rows = {row["raw_index"]: row for row in journal.rows()}
            n = progress.n
    return rows, accounting, n
