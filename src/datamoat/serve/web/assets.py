"""The UI's static files: its own CSS and JS, and plotly.js from the installed plotly wheel.

Only these three names are served (no directory listing, no paths). URLs carry a version
(a hash of the file, or plotly's version) so browsers may cache them for a year.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).parent / "static"
CACHE_FOREVER = "public, max-age=31536000, immutable"
_MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False)


def plotly_js() -> Path:
    """plotly.min.js inside the installed plotly package (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def asset_path(name: str) -> Path | None:
    """The file behind ``/ui/static/<name>``, or None when ``name`` is not one of the UI's files."""
    if name == "plotly.min.js":
        return plotly_js()
    if name in ("app.css", "app.js"):
        return STATIC_DIR / name
    return None


@functools.cache
def _version(name: str) -> str:
    path = asset_path(name)
    if path is None or not path.is_file():
        return "0"
    if name == "plotly.min.js":
        import plotly

        return plotly.__version__
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """``/ui/static/<name>?v=<version>``: a URL that changes whenever the file does."""
    return f"/ui/static/{name}?v={_version(name)}"


@router.get("/ui/static/{name}")
def static_file(name: str) -> FileResponse:
    """One of the UI's static files, cacheable for a year (the URL is versioned)."""
    path = asset_path(name)
    if path is None or not path.is_file():
        raise HTTPException(404, f"no static file {name!r}.")
    return FileResponse(path, media_type=_MEDIA[path.suffix],
                        headers={"Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"})
