"""``python -m tune_flow.space FILE``: print a parsed search space and every problem."""

import sys

from tune_flow.space._parse import main

sys.exit(main())
