"""The programme report: weekly figures from content-free events, as HTML, CSV and SVG."""
