"""The web UI: one ASGI app over the read API, served locally by ``samerun ui``.

``app.py`` builds it (the store it reads, templates, static files, errors); ``security.py``
holds what every response carries and what every request must show; ``api.py`` is the JSON API
under ``/api/v1``; ``pages.py`` the server-rendered pages (Jinja2, made interactive with htmx
and uPlot, both vendored under ``static/vendor`` with their licences: nothing is fetched from
the internet at run time). The team server adds authentication to the same routes.
"""
