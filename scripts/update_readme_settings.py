"""Rewrites the configuration table of README.md from the Settings class."""

from pathlib import Path

from app.settings import settings_table

START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"

readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text()
before, rest = text.split(START)
_, after = rest.split(END)
readme.write_text(f"{before}{START}\n{settings_table()}\n{END}{after}")
