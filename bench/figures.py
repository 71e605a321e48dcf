"""What a benchmark reports: a measured figure and the target it is held to."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str = "s"
    # The figure must stay below the target; a figure without one is shown for reference.
    target: float | None = None
    note: str = ""

    @property
    def met(self) -> bool:
        return self.target is None or self.value < self.target

    def line(self) -> str:
        measured = f"{self.value:.2f} {self.unit}"
        if self.target is None:
            verdict = f"no target: {self.note}" if self.note else "no target"
        else:
            verdict = f"target < {self.target:g} {self.unit}  {'ok' if self.met else 'MISSED'}"
        return f"  {self.name:<52}{measured:>12}   {verdict}"
