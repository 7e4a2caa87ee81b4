"""The team server: the web UI over PostgreSQL and S3, behind users, tokens and project roles.

``auth`` says who a request comes from (passwords, API tokens, sessions), ``projects`` which
projects a user belongs to and in which role, ``policy`` what each route needs (every route
declares one permission; an undeclared route is refused), ``app`` the ASGI app that puts them
in front of the web UI's routes.
"""
