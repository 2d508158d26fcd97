//! Chat payloads: Slack incoming webhooks (attachments, coloured by severity), Microsoft Teams
//! Workflows webhooks (an Adaptive Card in a `message`), Discord webhooks (embeds).

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
