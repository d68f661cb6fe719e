"""``python -m skills.report EVAL_DIR``: the HTML report (``skills.report.build``)."""

import sys

from skills.report.build import main

if __name__ == "__main__":
    sys.exit(main())
