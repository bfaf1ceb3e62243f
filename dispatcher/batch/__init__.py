"""Batch runs: many tasks from a JSONL file, on this process (local) or on Ray workers, with
one result line per task and resumption from the results file.

`dispatcher batch` is the command; `run_batch` is the same from Python. Ray is an optional
extra (`pip install -e ".[ray]"` (from the dispatcher repository root)),
imported only when the Ray engine runs.
"""

from dispatcher.batch._batch import BatchSummary, Engine, run_batch
from dispatcher.batch._files import BatchTask, ResultsFile, finished_ids, read_tasks
from dispatcher.batch._runner import (
    DispatcherRunnerFactory,
    RunnerFactory,
    TaskRunner,
    result_line,
)

__all__ = [
    "BatchSummary",
    "BatchTask",
    "DispatcherRunnerFactory",
    "Engine",
    "ResultsFile",
    "RunnerFactory",
    "TaskRunner",
    "finished_ids",
    "read_tasks",
    "result_line",
    "run_batch",
]
