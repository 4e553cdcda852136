"""``python -m tune_flow.search --space search_spaces/arch.yaml``: see :mod:`tune_flow.search.cli`."""

from tune_flow.fast_exit import exit_with
from tune_flow.search.cli import main

exit_with(main())
