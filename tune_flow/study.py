"""``python -m tune_flow.study --spec studies/flows_2d.yaml``: see :mod:`tune_flow.search.study_cli`."""

import sys

from tune_flow.search.study_cli import main

if __name__ == "__main__":
    sys.exit(main())
