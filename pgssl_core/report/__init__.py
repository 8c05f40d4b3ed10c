"""Project reports: gather a project's figures (:mod:`.gather`), draw the static map (:mod:`.static_map`) and
render one self-contained HTML file (:mod:`.html`); :func:`export_report` does all three."""

from pgssl_core.report.export import export_report

__all__ = ["export_report"]
