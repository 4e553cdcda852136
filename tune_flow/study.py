"""``python -m tune_flow.study --spec studies/flows_2d.yaml``: see :mod:`tune_flow.search.study_cli`."""

from tune_flow.fast_exit import exit_with
from tune_flow.search.study_cli import main

if __name__ == "__main__":
    exit_with(main())
