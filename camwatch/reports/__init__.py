"""The report files, in one place for monitor and coverage: the office writers (CSV, XLSX, the report
language), report cells, the one ranking, the uptime and assessment packs and the coverage report. Reports
import config and the computing modules; those import nothing here but the ranking."""
