"""The HTTP service: the champion model behind an authenticated API, feedback, monitoring, web UI.

Needs the ``serve`` extra (fastapi, uvicorn). :func:`datamoat.serve.app.create_app` builds the
application; ``datamoat serve`` runs it under uvicorn.
"""
