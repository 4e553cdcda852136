"""``python -m tune_flow.report EXPERIMENT_DIR``: rebuild report.html for a finished search
(:mod:`tune_flow.report.page`)."""

import sys

from tune_flow.report.page import main

sys.exit(main())
