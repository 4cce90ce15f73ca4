//! The NHS.UK frontend, vendored at a pinned version (vendor/nhsuk-frontend-10.6.1) and
//! compiled into the binary: pages work from any folder with nothing else installed.

/// The stylesheet's and script's paths carry the version, so they can be cached for ever.
pub const CSS: &str = "/assets/nhsuk-frontend-10.6.1.min.css";
pub const JS: &str = "/assets/nhsuk-frontend-10.6.1.min.js";
/// Our one script: the countdown of a timed test (an enhancement; pages work without it).
pub const COUNTDOWN: &str = "/assets/fasttrack-countdown-1.js";
/// A staff job page's progress bar, moving while the page is open (an enhancement too).
pub const PROGRESS: &str = "/assets/fasttrack-progress-1.js";
/// The printed copy of a page: content without menus and forms.
pub const PRINT: &str = "/assets/fasttrack-print-1.css";

/// Path, bytes, content type. The stylesheet refers to its icons as /assets/images/….
pub static FILES: &[(&str, &[u8], &str)] = &[
    (COUNTDOWN, include_bytes!("static/countdown.js"), "text/javascript; charset=utf-8"),
    (PROGRESS, include_bytes!("static/progress.js"), "text/javascript; charset=utf-8"),
    (PRINT, include_bytes!("static/print.css"), "text/css; charset=utf-8"),
    (CSS, include_bytes!("../../vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.css"), "text/css; charset=utf-8"),
    (JS, include_bytes!("../../vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.js"), "text/javascript; charset=utf-8"),
    (
        "/assets/images/favicon.ico",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/favicon.ico"),
        "image/x-icon",
    ),
    (
        "/assets/images/favicon.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/favicon.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-down-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-down-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-down.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-down.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-left-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-left-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-left.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-left.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-right-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-right-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-right.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-right.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-up-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-up-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-up-down.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-up-down.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-arrow-up.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-arrow-up.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-chevron-down-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-chevron-down-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-chevron-left-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-chevron-left-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-chevron-right-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-chevron-right-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-chevron-up-circle.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-chevron-up-circle.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-cross.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-cross.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-mask.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-mask.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-minus.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-minus.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-plus.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-plus.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-search.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-search.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-tick.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-tick.svg"),
        "image/svg+xml",
    ),
    (
        "/assets/images/nhsuk-icon-user.svg",
        include_bytes!("../../vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-user.svg"),
        "image/svg+xml",
    ),
];

pub fn find(path: &str) -> Option<(&'static [u8], &'static str)> {
    FILES.iter().find(|(p, _, _)| *p == path).map(|(_, bytes, kind)| (*bytes, *kind))
}
