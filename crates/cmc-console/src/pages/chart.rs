//! The overview's chart: this node's certificates issued and enrollment
//! requests failed per minute over the last hour, drawn on the server as
//! SVG markup (no script; colours come from classes in console.css, since
//! the Content-Security-Policy allows no inline style), with the figures
//! in its title and in a table for those who do not see it.

use maud::{Markup, html};

use super::time;
use crate::Ctx;
use crate::activity::Minute;

/// The plot's left edge, its width per minute, its base line and height,
/// in SVG user units.
const LEFT: u64 = 40;
const STEP: u64 = 10;
const BASE: u64 = 170;
const HEIGHT: u64 = 150;

/// The overview's activity section: the chart, or why there is none.
pub(crate) fn section(ctx: &Ctx<'_>) -> Markup {
    let minutes = ctx.activity.map(|a| a.last_hour(ctx.engine.now().secs()));
    html! {
        section aria-labelledby="activity-heading" {
            h2 id="activity-heading" { "Activity in the last hour" }
            p.hint {
                "This node only: with several nodes sharing the store, each node's console shows "
                "the requests that node answered."
            }
            @match minutes {
                Some(m) => (chart(&m)),
                None => p { "This server hands the console no activity figures." },
            }
        }
    }
}

/// The totals of `minutes`: (issued, failed).
fn totals(minutes: &[Minute]) -> (u64, u64) {
    minutes.iter().fold((0, 0), |(i, f), m| {
        (i.saturating_add(m.issued), f.saturating_add(m.failed))
    })
}

/// A rate per minute with two decimals, from a count over `minutes`.
fn per_minute(count: u64, minutes: usize) -> String {
    let minutes = u64::try_from(minutes.max(1)).unwrap_or(u64::MAX);
    let hundredths = count.saturating_mul(100) / minutes;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// The height of `value` on a scale whose top is `max` (> 0).
fn bar(value: u64, max: u64) -> u64 {
    let scaled = u128::from(value.min(max)) * u128::from(HEIGHT) / u128::from(max.max(1));
    // At most HEIGHT: value <= max.
    u64::try_from(scaled).unwrap_or(HEIGHT)
}

/// The chart of `minutes` (oldest first) and its text alternative.
pub(crate) fn chart(minutes: &[Minute]) -> Markup {
    let (issued, failed) = totals(minutes);
    let max = minutes
        .iter()
        .map(|m| m.issued.max(m.failed))
        .max()
        .unwrap_or(0)
        .max(1);
    let summary = format!(
        "{issued} certificate(s) issued ({} per minute) and {failed} failed request(s) \
         ({} per minute) in the last {} minutes",
        per_minute(issued, minutes.len()),
        per_minute(failed, minutes.len()),
        minutes.len()
    );
    let width = LEFT + STEP * u64::try_from(minutes.len()).unwrap_or(60) + 10;
    let first = minutes.first().map(|m| m.start);
    let active: Vec<&Minute> = minutes
        .iter()
        .filter(|m| m.issued > 0 || m.failed > 0)
        .collect();
    html! {
        p { (summary) "." }
        figure.chart {
            svg.chart viewBox={ "0 0 " (width) " 200" } role="img"
                aria-labelledby="activity-title" xmlns="http://www.w3.org/2000/svg" {
                title id="activity-title" { "Issued and failed per minute: " (summary) }
                line.axis x1=(LEFT) y1=(BASE) x2=(width - 10) y2=(BASE) {}
                line.axis x1=(LEFT) y1=(BASE - HEIGHT) x2=(LEFT) y2=(BASE) {}
                text.tick x=(LEFT - 4) y=(BASE) text-anchor="end" { "0" }
                text.tick x=(LEFT - 4) y=(BASE - HEIGHT + 10) text-anchor="end" { (max) }
                @for (i, m) in minutes.iter().enumerate() {
                    @let x = LEFT + STEP * u64::try_from(i).unwrap_or(0);
                    @let hi = bar(m.issued, max);
                    @let hf = bar(m.failed, max);
                    @if hi > 0 {
                        rect.issued x={ (x + 1) } y=(BASE - hi) width="4" height=(hi) {}
                    }
                    @if hf > 0 {
                        rect.failed x={ (x + 5) } y=(BASE - hf) width="4" height=(hf) {}
                    }
                }
                text.tick x=(LEFT) y="192" { "60 min ago" }
                text.tick x=(width - 10) y="192" text-anchor="end" { "now" }
            }
            figcaption {
                span.key.issued { "■" } " issued certificates  "
                span.key.failed { "■" } " failed requests; scale 0 to " (max) " per minute"
                @if let Some(start) = first { ", from " (time(cmc_ca::UnixTime::from_secs(start))) }
            }
        }
        details {
            summary { "The figures by minute" }
            @if active.is_empty() {
                p { "No certificate was issued and no request failed in this hour." }
            } @else {
                table {
                    caption { "Minutes with activity (the others had none)" }
                    thead { tr {
                        th scope="col" { "Minute" }
                        th scope="col" { "Issued" }
                        th scope="col" { "Failed" }
                    } }
                    tbody {
                        @for m in &active {
                            tr {
                                th scope="row" { (time(cmc_ca::UnixTime::from_secs(m.start))) }
                                td.num { (m.issued) }
                                td.num { (m.failed) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(now_minute: i64, figures: &[(usize, u64, u64)]) -> Vec<Minute> {
        let mut out: Vec<Minute> = (0..60)
            .map(|i| Minute {
                start: (now_minute - 59 + i) * 60,
                ..Minute::default()
            })
            .collect();
        for &(i, issued, failed) in figures {
            out[i].issued = issued;
            out[i].failed = failed;
        }
        out
    }

    #[test]
    fn the_figures_are_in_the_markup_and_the_bars_scale() {
        let minutes = hour(29_000_000, &[(3, 12, 0), (58, 4, 6), (59, 0, 1)]);
        let svg = chart(&minutes).into_string();
        assert!(
            svg.contains(
                "16 certificate(s) issued (0.26 per minute) and 7 failed request(s) (0.11 per minute)"
            ),
            "{svg}"
        );
        // The tallest bar is the scale's top: 12 issued, full height.
        assert!(
            svg.contains(r#"<rect class="issued" x="71" y="20" width="4" height="150">"#),
            "{svg}"
        );
        // 6 of 12: half; 4 of 12: a third.
        assert!(svg.contains(r#"<rect class="failed" x="625" y="95" width="4" height="75">"#));
        assert!(svg.contains(r#"<rect class="issued" x="621" y="120" width="4" height="50">"#));
        assert_eq!(svg.matches("<rect").count(), 4, "one per non-zero count");
        // The table lists the three active minutes.
        assert_eq!(svg.matches("<th scope=\"row\">").count(), 3);
        assert!(svg.contains("<td class=\"num\">12</td>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"activity-title\">"));
        assert!(
            !svg.contains("style="),
            "the CSP allows no inline style: {svg}"
        );
        assert!(!svg.contains("<script"), "{svg}");
    }

    #[test]
    fn an_idle_hour_draws_no_bar_and_says_so() {
        let svg = chart(&hour(29_000_000, &[])).into_string();
        assert_eq!(svg.matches("<rect").count(), 0);
        assert!(svg.contains("0 certificate(s) issued (0.00 per minute) and 0 failed"));
        assert!(svg.contains("No certificate was issued and no request failed"));
    }

    #[test]
    fn rates_have_two_decimals() {
        assert_eq!(per_minute(0, 60), "0.00");
        assert_eq!(per_minute(2, 60), "0.03");
        assert_eq!(per_minute(90, 60), "1.50");
        assert_eq!(per_minute(600, 60), "10.00");
        assert_eq!(per_minute(5, 0), "5.00");
        assert_eq!(bar(u64::MAX, u64::MAX), HEIGHT);
    }
}
