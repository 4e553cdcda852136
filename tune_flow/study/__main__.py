"""``python -m tune_flow.study``: see :mod:`tune_flow.search.study.cli`."""

from tune_flow.fast_exit import exit_with
from tune_flow.search.study.cli import main

exit_with(main())
