"""The rebuild's progress display: a bar redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from chatassist.progress import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place_with_position_rate_and_eta() -> None:
    # Given a progress of 1,000 events up to position 5,000, on a terminal
    out = Terminal()
    progress = Progress("rebuild usage", 1000, 5000, out)
    # When half is done
    progress.update(2500, 500, force=True)
    # I expect one line redrawn in place: a half-filled bar, position / max, done / total, events/s, ETA
    text = out.getvalue()
    assert text.startswith("\r\x1b[2K[" + "#" * 15 + "." * 15 + "]")
    assert "position 2,500 / 5,000, 500 / 1,000 events," in text and "events/s, ETA 0:" in text
    assert "\n" not in text
    # and the final message on a line of its own
    progress.finish("done")
    assert out.getvalue().endswith("\ndone\n")


def test_elsewhere_plain_lines_at_most_every_few_seconds() -> None:
    # Given a progress written to a file (not a terminal)
    out = io.StringIO()
    progress = Progress("rebuild usage", 10, 10, out, every_s=60)
    # When it is updated twice in quick succession
    progress.update(1, 1)
    progress.update(2, 2)
    # I expect one plain line (no bar, no carriage return)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rebuild usage: position 1 / 10, 1 / 10 events,")
    assert "\r" not in out.getvalue() and "#" not in out.getvalue()
