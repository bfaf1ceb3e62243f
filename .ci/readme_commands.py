"""Print the README's set-up commands, one a line: the command lines of the first ```bash
block under "## Set up and run" (comments and blank lines skipped). Used by .ci/newcomer, so
CI runs what the README says rather than a copy of it."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def readme_commands(readme: Path) -> list[str]:
    text = readme.read_text(encoding="utf-8")
    start = text.index("## Set up and run")
    block = re.search(r"^```bash\n(.*?)^```", text[start:], re.DOTALL | re.MULTILINE)
    if block is None:
        raise SystemExit(f"{readme}: no ```bash block under '## Set up and run'")
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


if __name__ == "__main__":
    for command in readme_commands(Path(sys.argv[1])):
        print(command)
