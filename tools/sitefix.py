"""Small fixes to the generated site, found by the browser test (site_tests/).

* The theme's colour mode starts empty for a first-time visitor, and the theme then logs a
  console error ("Got invalid theme mode"); we set ``default_mode`` to ``auto``.
* On wide screens the header showed a second search box above the sidebar's own (the PyData
  theme puts ``search-button-field`` in ``navbar_persistent`` unless told otherwise); we keep
  the sidebar's field, and the article header's search button on narrow screens.
* Jupyter Book registers the inline settings of sphinx-thebe and sphinx-togglebutton twice,
  so every page declared ``const THEBE_JS_URL`` twice (a JavaScript error); we drop exact
  duplicate scripts from each page.
"""

from __future__ import annotations


def _config_inited(app, config) -> None:
    ctx = dict(config.html_context or {})
    ctx.setdefault("default_mode", "auto")
    config.html_context = ctx
    options = dict(config.html_theme_options or {})
    options.setdefault("navbar_persistent", [])
    config.html_theme_options = options


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, keep = set(), []
    for s in scripts:
        # inline scripts come once with filename None and once with "": treat both alike
        filename = getattr(s, "filename", s) or ""
        ident = (str(filename), tuple(sorted(getattr(s, "attributes", {}).items())))
        if ident in seen:
            continue
        seen.add(ident)
        keep.append(s)
    context["script_files"] = keep


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
