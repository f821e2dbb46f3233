//! The HTML pages: the index at the base path (nats-server's links, plus
//! rnatsd's dashboard and metrics) and the live dashboard, embedded in the
//! binary.

use super::Monitor;
use crate::config::options::{NATS_VERSION, RNATSD_VERSION};

/// The dashboard: plain JavaScript and inline SVG, no external resources.
const DASHBOARD: &str = include_str!("dashboard.html");

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The index page: the endpoints in nats-server's order, with its link
/// form (`.` + path), then the dashboard and the metrics.
pub fn index(m: &Monitor) -> String {
    let links = [
        ("/varz", "General", ""),
        ("/jsz", "JetStream", ""),
        ("/connz", "Connections", ""),
        ("/accountz", "Accounts", ""),
        ("/accstatz", "Account Stats", ""),
        ("/subsz", "Subscriptions", ""),
        ("/routez", "Routes", ""),
        ("/leafz", "LeafNodes", ""),
        ("/gatewayz", "Gateways", ""),
        ("/raftz", "Raft Groups", ""),
        ("/healthz", "Health Probe", " class=last"),
        ("/dashboard", "Dashboard", ""),
        ("/metrics", "Prometheus Metrics", " class=last"),
    ];
    let mut list = String::new();
    for (path, label, class) in links {
        list.push_str(&format!(
            "\t<a href=.{}{class}>{label}<span class=\"endpoint\"> {path}</span></a>\n",
            escape(&m.path(path))
        ));
    }
    format!(
        r#"<html lang="en">
	<head>
	<title>rnatsd monitoring</title>
	<style type="text/css">
		body {{ font-family: ui-sans-serif,system-ui,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif; font-size: 18px; margin-left: 32px }}
		h1 {{ font-weight: 600; color: rgb(39 170 225); margin-bottom: 0 }}
		a {{ display:block; margin-left: 7px; padding-bottom: 6px; color: rgb(72 72 92); text-decoration: none }}
		a:hover {{ font-weight: 600; color: rgb(59 50 202) }}
		a.help {{ display:inline; font-weight: 600; color: rgb(59 50 202); font-size: 20px }}
		a.last {{ padding-bottom: 16px }}
		.version {{ font-size: 14px; color: rgb(72 72 92); margin: 4px 0 16px 7px }}
	</style>
	</head>
	<body>
	<h1>rnatsd</h1>
	<div class='version'>v{NATS_VERSION} (rnatsd {RNATSD_VERSION}) &middot; {name}</div>
	<br/>
{list}    <a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring class="help">Help</a>
  </body>
</html>"#,
        name = escape(&m.srv.name),
    )
}

/// The live dashboard page.
pub fn dashboard(m: &Monitor) -> String {
    DASHBOARD
        .replace("{{VARZ}}", &escape(&m.path("/varz")))
        .replace("{{ROOT}}", &escape(&m.base))
        .replace("{{NAME}}", &escape(&m.srv.name))
        .replace(
            "{{VERSION}}",
            &escape(&format!("v{NATS_VERSION} (rnatsd {RNATSD_VERSION})")),
        )
}
