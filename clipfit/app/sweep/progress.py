"""Progress of a running sweep: a tqdm bar on stderr (on a terminal) and one line per job on stdout."""
from __future__ import annotations

import sys
import time
from collections import Counter

from tqdm import tqdm

from .outcome import BLOCKED, DONE, FAILED, SKIPPED, Outcome, elapsed
from .plan import PlannedJob


class Progress:
    def __init__(self, total: int, bar: bool | None = None):
        """`bar=None`: show the bar only when stderr is a terminal."""
        self.total = total
        self.begin = time.time()
        self.counts: Counter = Counter()
        self.bar = tqdm(total=total, file=sys.stderr, unit="job", dynamic_ncols=True,
                        disable=None if bar is None else not bar)

    def note(self, line: str) -> None:
        """A line on stdout that leaves the bar intact."""
        self.bar.write(line, file=sys.stdout)
        sys.stdout.flush()

    def _prefix(self) -> str:
        finished = sum(self.counts.values())
        counts = ", ".join(f"{self.counts[s]} {s}" for s in (DONE, SKIPPED, FAILED, BLOCKED) if self.counts[s])
        return f"[{finished}/{self.total} {counts or '0 done'} | {elapsed(time.time() - self.begin)}]"

    def skipped(self, outcomes: list[Outcome]) -> None:
        """Finished runs are counted at once, in one line (`--dry-run` lists them)."""
        if not outcomes:
            return
        self.counts[SKIPPED] += len(outcomes)
        self.bar.update(len(outcomes))
        self.note(f"{self._prefix()} skipped {len(outcomes)} finished run(s)")

    def started(self, planned: PlannedJob, where: str = "") -> None:
        self.note(f"{self._prefix()} start  {planned.label}" + (f" ({where})" if where else ""))

    def finished(self, outcome: Outcome, quiet: bool = False) -> None:
        self.counts[outcome.status] += 1
        self.bar.update(1)
        if quiet:
            return
        line = f"{self._prefix()} {outcome.status:<6} {outcome.planned.label}"
        details = [f"{outcome.seconds:.1f} s"] if outcome.seconds else []
        if outcome.result is not None:
            details.append(f"accuracy {outcome.result:.2f}%")
        if details:
            line += f" ({', '.join(details)})"
        if outcome.error:
            line += f": {outcome.error}"
        if outcome.status == FAILED and outcome.logs:
            line += f"; log: {outcome.logs[-1]}"
        self.note(line)

    def close(self) -> None:
        self.bar.close()
