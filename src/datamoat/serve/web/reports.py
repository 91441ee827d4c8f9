"""The workspace's HTML reports (quality profiles, model evaluations, comparisons), read-only.

Reports live in ``.datamoat/reports``. Only plain file names of ``.html`` files directly in that
folder are served: a name with a path separator, ``..`` or other characters is refused, and the
resolved path must still be inside the folder (so a symbolic link cannot lead out of it).
Reports are self-contained pages with inline scripts (plotly); they are answered with a
sandboxing Content-Security-Policy: no network access, no same-origin rights (they cannot call
the API with the login cookie), no forms.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from datamoat.serve.web.session import ReadKey

router = APIRouter(include_in_schema=False)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,250}\.html$")
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
              "font-src data:; sandbox allow-scripts")


def reports_dir(request: Request) -> Path:
    """The workspace's reports folder."""
    return request.app.state.dm.ws.state / "reports"


def report_file(folder: Path, name: str) -> Path | None:
    """The report ``name`` inside ``folder``, or None when the name is not allowed or no such file exists."""
    if not _NAME.match(name) or ".." in name:
        return None
    base = folder.resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        return None
    return path


def report_url(folder: Path, name: str) -> str | None:
    """``/ui/reports/<name>`` when that report exists and can be served, else None."""
    return f"/ui/reports/{name}" if report_file(folder, name) is not None else None


def report_url_for_path(folder: Path, path: str | None) -> str | None:
    """The URL of a report given by its full path (as decisions record it), when it is in ``folder``."""
    if not path:
        return None
    p = Path(path)
    try:
        if p.resolve().parent != folder.resolve():
            return None
    except OSError:
        return None
    return report_url(folder, p.name)


@router.get("/ui/reports/{name}")
def report(name: str, request: Request, key: ReadKey) -> FileResponse:
    """One report from ``.datamoat/reports`` (see the module docstring for what is refused)."""
    path = report_file(reports_dir(request), name)
    if path is None:
        raise HTTPException(404, "no such report.")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    })
