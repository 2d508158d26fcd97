//! Chat payloads: Slack incoming webhooks (attachments, coloured by severity), Microsoft Teams
//! Workflows webhooks (an Adaptive Card in a `message`) and legacy Office 365 connectors (a
//! MessageCard), Discord webhooks (embeds).

use super::event::{Event, Severity};
use serde_json::{json, Value};

const GREEN: &str = "#2eb886";
const RED: &str = "#a30200";

/// (title, value) pairs every chat message shows, in order, when present.
fn facts(e: &Event) -> Vec<(&'static str, String)> {
    let mut f = vec![("Environment", e.environment.clone())];
    if let Some(r) = &e.revision {
        f.push(("Revision", r.clone()));
    }
    if let Some(d) = &e.digest {
        f.push(("Digest", d.clone()));
    }
    if let Some(c) = &e.counts {
        f.push((
            "Objects",
            format!(
                "{} created, {} configured, {} unchanged, {} pruned, {} failed",
                c.created, c.configured, c.unchanged, c.pruned, c.failed
            ),
        ));
    }
    f
}

fn details(e: &Event) -> String {
    e.details
        .iter()
        .map(|d| format!("• {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Slack: `text` is the notification's fallback; the attachment carries colour and fields.
pub fn slack(e: &Event) -> Value {
    let colour = match e.severity {
        Severity::Info => GREEN,
        Severity::Error => RED,
    };
    let mut a = json!({
        "color": colour,
        "title": e.summary,
        "fields": facts(e).into_iter().map(|(t, v)| json!({"title": t, "value": v, "short": t != "Objects"})).collect::<Vec<_>>(),
        "footer": format!("ferry {}", e.kind.name()),
        "mrkdwn_in": ["text"],
    });
    if !e.details.is_empty() {
        a["text"] = json!(details(e));
    }
    if let Some(l) = &e.link {
        a["title_link"] = json!(l);
    }
    json!({ "text": e.summary, "attachments": [a] })
}

/// Teams Workflows ("Post to a channel when a webhook request is received"): a `message` with
/// one Adaptive Card attachment.
pub fn teams(e: &Event) -> Value {
    let colour = match e.severity {
        Severity::Info => "Good",
        Severity::Error => "Attention",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": e.summary, "weight": "Bolder", "size": "Medium", "color": colour, "wrap": true}),
        json!({"type": "FactSet", "facts": facts(e).into_iter().map(|(t, v)| json!({"title": t, "value": v})).collect::<Vec<_>>()}),
    ];
    if !e.details.is_empty() {
        body.push(json!({"type": "TextBlock", "text": e.details.iter().map(|d| format!("- {d}")).collect::<Vec<_>>().join("\n"), "wrap": true}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(l) = &e.link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open", "url": l}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }]
    })
}

/// Whether a `teams` URL is a legacy Office 365 connector's, which takes a MessageCard, not
/// an Adaptive Card: its host is `outlook.office.com` or under `webhook.office.com`.
pub fn is_connector_url(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    host == "outlook.office.com" || host.ends_with(".webhook.office.com")
}

/// The legacy Office 365 connector: a MessageCard with one section of facts.
pub fn teams_connector(e: &Event) -> Value {
    let colour = match e.severity {
        Severity::Info => &GREEN[1..],
        Severity::Error => &RED[1..],
    };
    let mut section = json!({
        "activityTitle": e.summary,
        "activitySubtitle": format!("ferry {}", e.kind.name()),
        "facts": facts(e).into_iter().map(|(t, v)| json!({"name": t, "value": v})).collect::<Vec<_>>(),
        "markdown": false,
    });
    if !e.details.is_empty() {
        section["text"] = json!(e.details.join("\n\n"));
    }
    let mut card = json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": colour,
        "summary": e.summary,
        "sections": [section],
    });
    if let Some(l) = &e.link {
        card["potentialAction"] = json!([{
            "@type": "OpenUri",
            "name": "Open",
            "targets": [{"os": "default", "uri": l}],
        }]);
    }
    card
}

/// Discord: one embed; colours are integers.
pub fn discord(e: &Event) -> Value {
    let colour = match e.severity {
        Severity::Info => 0x2eb886,
        Severity::Error => 0xa30200,
    };
    let mut embed = json!({
        "title": e.summary.chars().take(256).collect::<String>(),
        "color": colour,
        "fields": facts(e).into_iter().map(|(t, v)| json!({"name": t, "value": v, "inline": t != "Objects"})).collect::<Vec<_>>(),
        "footer": {"text": format!("ferry {}", e.kind.name())},
    });
    if !e.details.is_empty() {
        embed["description"] = json!(details(e));
    }
    if let Some(l) = &e.link {
        embed["url"] = json!(l);
    }
    json!({ "username": "ferry", "embeds": [embed] })
}

#[cfg(test)]
mod tests {
    fn is_connector_url(url: &str) -> bool {
        super::is_connector_url(&url.parse().expect("url"))
    }

    #[test]
    fn connector_urls_are_told_from_workflow_urls_by_host() {
        assert!(is_connector_url(
            "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d"
        ));
        assert!(is_connector_url("https://outlook.office.com/webhook/a"));
        assert!(!is_connector_url(
            "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
        ));
        assert!(!is_connector_url(
            "https://webhook.office.com.example.test/x"
        ));
        assert!(!is_connector_url(
            "http://127.0.0.1:8080/webhook.office.com"
        ));
    }
}
