"""`coach serve`: the app on loopback, over the composition root.

Loopback only unless told otherwise, no share link, no analytics. The models load in a background
thread while the user opens the page and picks a section; the first request waits for that (or,
if it failed, tries again and shows what to do).
"""

from __future__ import annotations

import logging
import threading

from coach.root import Coach

log = logging.getLogger("coach.app")


def _warm_up(root: Coach) -> None:
    try:
        root.warm_up(lambda fraction, desc: log.info("warming up: %s", desc))
    except Exception as e:  # noqa: BLE001 - reported again, with what to do, on first use
        log.warning("warm-up failed: %s", e)


def serve(root: Coach, host: str | None = None, port: int | None = None, share: bool | None = None) -> None:
    """Serve the app until interrupted."""
    from coach.app.layout import CSS, THEME, build_app
    from coach.session.interview import finish_work_ahead

    ui = root.cfg.ui
    root.background = True  # interviews work ahead while the user types
    app = build_app(root.db, root, root.corpus().sections, notice=root.grading_note)
    threading.Thread(target=_warm_up, args=(root,), daemon=True, name="coach-warm-up").start()
    host, port = host or ui.host, port or ui.port
    share = ui.share if share is None else share
    try:
        app.queue().launch(server_name=host, server_port=port, share=share, theme=THEME, css=CSS, ssr_mode=False,
                           show_error=False, quiet=False, inbrowser=False, footer_links=[], pwa=False,
                           mcp_server=False, enable_monitoring=False)
    finally:
        finish_work_ahead()
