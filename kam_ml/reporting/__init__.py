"""The rendering kit (figures, HTML pages, XLSX, tables on disk); it knows no model domain."""
