"""``assistant eval compare`` and ``assistant eval calibrate``: the commands that work on eval
runs rather than making one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.cli import common
from assistant.cli.common import handle, open_assistant
from assistant.errors import USER_ERRORS


def eval_compare(
    a: Annotated[Path, typer.Argument(help="The earlier run folder (or its report.json).")],
    b: Annotated[Path, typer.Argument(help="The later run folder (or its report.json).")],
) -> None:
    """Metric deltas between two runs and the items that flipped (regressions first)."""
    from evals.compare import compare_runs, render_comparison
    from evals.errors import EvalError

    try:
        comparison = compare_runs(a, b)
    except EvalError as exc:
        raise handle(exc) from exc
    common.out.print(render_comparison(comparison), markup=False)


def eval_calibrate(
    write: Annotated[
        bool,
        typer.Option(help="Write the chosen threshold to the calibration file the product reads."),
    ] = True,
) -> None:
    """Sweep the reader's decline threshold on the dev parts of every shipped set (news and
    held-out encyclopedia articles) and keep the best one that refuses at most 10% of the
    answerable questions in each."""
    import assistant.settings as settings_module
    import evals
    from evals.calibration import MAX_FALSE_REFUSALS, write_calibration
    from evals.errors import EvalError

    def open_for(overrides: dict[str, Any], sources: list[Path] | None):
        return open_assistant(common.settings(**overrides), sources)

    try:
        result = evals.calibrate(open_for)
    except (*USER_ERRORS, EvalError) as exc:
        raise handle(exc) from exc
    from rich.table import Table

    names, chosen = result.sets, result.chosen
    table = Table(
        "threshold",
        *(f"{n}: refusal recall / false refusals" for n in names),
        title="decline threshold sweep on the dev parts "
        + ", ".join(f"{n} ({result.items[n]} items)" for n in names),
    )
    for c in result.points[::3]:
        mark = " ◀ chosen" if c.threshold == chosen.threshold else ""
        table.add_row(
            f"{c.threshold:.2f}{mark}",
            *(
                f"{c.per_set[n].refusal_recall:.3f} / {c.per_set[n].false_refusal_rate:.3f}"
                for n in names
            ),
        )
    common.out.print(table)
    common.out.print(
        f"chosen: {chosen.threshold:.2f} — "
        + "; ".join(
            f"{n}: refusal recall {chosen.per_set[n].refusal_recall:.3f}, false refusals "
            f"{chosen.per_set[n].false_refusal_rate:.3f}"
            for n in names
        )
        + f" (max mean recall − false refusals with false refusals ≤ {MAX_FALSE_REFUSALS:.0%} "
        "in each set, lowest on ties)"
    )
    if write:
        write_calibration(settings_module.CALIBRATION_FILE, result)
        settings_module.calibrated_defaults.cache_clear()
        common.out.print(f"written to {settings_module.CALIBRATION_FILE}")
