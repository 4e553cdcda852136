"""``python -m tune_flow.report EXPERIMENT_DIR``: rebuild report.html for a finished search.

An entry point only; the report lives in :mod:`tune_flow.search.report`.
"""

import sys

from tune_flow.search.report import main

if __name__ == "__main__":
    sys.exit(main())
