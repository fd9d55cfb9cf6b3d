//! The stylesheet and script of the pages, compiled into the binary from `web/static`, served
//! under `/-/static/` with long caching (they change only with the binary).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use tinforge_gate::mounts::{Mount, Serves};

const APP_CSS: &str = include_str!("../../../web/static/app.css");
const APP_JS: &str = include_str!("../../../web/static/app.js");

/// Registers the static files (public: they hold nothing but layout and behaviour).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let [css, js] = MOUNTS;
    cfg.route(css.pattern, web::get().to(app_css))
        .route(js.pattern, web::get().to(app_js));
}

/// What [`configure`] mounts (documents, no data), for the router's start-up self-check.
pub const MOUNTS: [Mount; 2] = [
    Mount {
        pattern: "/-/static/app.css",
        serves: Serves::Document,
    },
    Mount {
        pattern: "/-/static/app.js",
        serves: Serves::Document,
    },
];

async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type.to_string())
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}
