"""Run the vidstyle CLI in this process and record its peak resident memory.

    python -m bench.rss REPORT.json video ...
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main() -> None:
    report, args = Path(sys.argv[1]), sys.argv[2:]
    from vidstyle.cli import app

    code = 0
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report.write_text(json.dumps({"max_rss_mib": peak_kib / 1024, "exit_code": code}))
    sys.exit(code)


if __name__ == "__main__":
    main()
