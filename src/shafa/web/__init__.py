"""Server-rendered pages (Jinja2 + HTMX): the shell every context's pages live in."""
