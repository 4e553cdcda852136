"""``python -m tune_flow.search --space search_spaces/arch.yaml``: see :mod:`tune_flow.search.cli`."""

import sys

from tune_flow.search.cli import main

sys.exit(main())
