"""Writers that turn a :class:`~reports.exports.table.Report` into XLSX, CSV or PDF.

Every writer streams: rows are pulled from the report's iterators one by one and written out,
so the memory a writer needs does not grow with the number of rows (XLSX in openpyxl's
write-only mode, CSV line by line; PDF is the exception -- WeasyPrint lays out the whole
document -- hence ``REPORTS_PDF_MAX_ROWS``).
"""

from .csv import write_csv
from .pdf import write_pdf
from .table import Column, Report, Section
from .xlsx import write_xlsx

WRITERS = {"xlsx": write_xlsx, "csv": write_csv, "pdf": write_pdf}
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}

__all__ = ["CONTENT_TYPES", "WRITERS", "Column", "Report", "Section", "write_csv", "write_pdf", "write_xlsx"]
