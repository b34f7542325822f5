"""binroute api: the FastAPI service dispatchers and sensors talk to (``binroute serve``).

Public entry points (imported by ``binroute.cli`` only; nothing else imports ``api``):

* ``api.app.create_app(settings=None, *, planner=None, routing=None) -> FastAPI``
* ``api.server.run(host="127.0.0.1", port=8000, settings=None) -> None`` (uvicorn)
* ``api.security.create_key(settings, role, name) -> str`` (print it once; only a hash is kept)
* ``api.settings.Settings`` (``BINROUTE_*`` environment variables)
"""
