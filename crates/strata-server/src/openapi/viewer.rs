//! The `/docs` page and its assets (see `assets/README.md`): Swagger UI, vendored from npm,
//! rendering `/openapi.json` without loading anything from another origin.

/// The page served at `/docs`. It loads `docs/assets/<name>` (relative to `/docs`) and
/// `openapi.json`.
pub fn docs_html() -> &'static str {
    include_str!("../../assets/docs.html")
}

/// `(content type, bytes)` of a file served at `/docs/assets/<name>`; `None` for anything else.
pub fn viewer_asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    let asset: (&str, &[u8]) = match name {
        "swagger-ui-bundle.js" => (JS, include_bytes!("../../assets/swagger-ui-bundle.js")),
        "swagger-ui.css" => (CSS, include_bytes!("../../assets/swagger-ui.css")),
        "docs.js" => (JS, include_bytes!("../../assets/docs.js")),
        "swagger-ui.LICENSE" => (TEXT, include_bytes!("../../assets/swagger-ui.LICENSE")),
        "swagger-ui.NOTICE" => (TEXT, include_bytes!("../../assets/swagger-ui.NOTICE")),
        "swagger-ui-bundle.js.LICENSE.txt" => (
            TEXT,
            include_bytes!("../../assets/swagger-ui-bundle.js.LICENSE.txt"),
        ),
        _ => return None,
    };
    Some(asset)
}
