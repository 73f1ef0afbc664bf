"""A small bar chart of texts sent and failed per day."""

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from store.stats import DayOutcome

BARS = " ▁▂▃▄▅▆▇█"


class OutcomeChart(Widget):
    """Two rows of bars, one column per day: texts sent, then texts failed.

    Each row is scaled to its own busiest day, so a handful of failures is
    still visible beside hundreds of sends; the totals are printed beside it.
    """

    DEFAULT_CSS = """
    OutcomeChart {
        height: 3;
    }
    OutcomeChart > .outcome-chart--sent {
        color: $success;
    }
    OutcomeChart > .outcome-chart--failed {
        color: $error;
    }
    OutcomeChart > .outcome-chart--label {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {
        "outcome-chart--sent",
        "outcome-chart--failed",
        "outcome-chart--label",
    }

    outcomes: reactive[tuple[DayOutcome, ...]] = reactive(tuple)

    def show(self, outcomes: Sequence[DayOutcome]) -> None:
        self.outcomes = tuple(outcomes)

    def render(self) -> Text:
        label_style = self.get_component_rich_style("outcome-chart--label")
        if not self.outcomes:
            return Text("No sends yet.", style=label_style)

        sent = [o.sent for o in self.outcomes]
        failed = [o.failed for o in self.outcomes]
        rows = [
            ("Sent  ", sent, "outcome-chart--sent"),
            ("Failed", failed, "outcome-chart--failed"),
        ]

        text = Text(no_wrap=True, overflow="crop")
        for label, values, style in rows:
            text.append(f"{label} ", style=label_style)
            text.append(_bars(values), style=self.get_component_rich_style(style))
            text.append(f" {sum(values):>5}\n", style=label_style)

        first, last = self.outcomes[0].day, self.outcomes[-1].day
        span = f"{first.day} {first:%b}"
        end = f"{last.day} {last:%b}"
        gap = max(1, len(self.outcomes) - len(span) - len(end))
        text.append(" " * 7 + span + " " * gap + end, style=label_style)
        return text


def _bars(values: Sequence[int]) -> str:
    top = max(values) if values else 0
    if top == 0:
        return "·" * len(values)
    # Any day with one event gets at least the lowest bar, so it is not lost.
    return "".join(
        BARS[max(1, round(v / top * (len(BARS) - 1)))] if v else "·" for v in values
    )
