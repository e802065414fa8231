"""The command line (``assistant``, or ``python -m assistant.cli``): a thin edge over
``assistant.service``. This module only assembles the commands; each group lives in its own
module:

    common      the consoles, shared options, and errors → one sentence + exit code
    commands    index, ask, chat, config, ui
    evaluate    eval (run an eval set)
    eval_tools  eval compare, eval calibrate
    llm         llm serve (a local model)

Errors the product raises on purpose become one red sentence on stderr and exit code 1; the
details go to the log file in the data folder.
"""

from __future__ import annotations

import typer

from assistant.cli import commands, eval_tools, evaluate, llm
from assistant.cli.common import FELL_BACK

__all__ = ["FELL_BACK", "app", "main"]

app = typer.Typer(
    help="Answer questions about a news article, only from it, with word-for-word citations.\n\n"
    "Works offline with no key: the shipped article is indexed on first use. Set "
    "ASSISTANT_LLM_BASE_URL to answer through an OpenAI-compatible LLM instead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (commands.index, commands.ask, commands.chat, commands.config, commands.ui):
    app.command()(command)

eval_app = typer.Typer(help=evaluate.HELP, no_args_is_help=False, invoke_without_command=True)
eval_app.callback()(evaluate.eval_run)
eval_app.command("compare")(eval_tools.eval_compare)
eval_app.command("calibrate")(eval_tools.eval_calibrate)
app.add_typer(eval_app, name="eval")

llm_app = typer.Typer(help=llm.HELP)
llm_app.command("serve")(llm.llm_serve)
app.add_typer(llm_app, name="llm")


def main() -> None:
    app()
