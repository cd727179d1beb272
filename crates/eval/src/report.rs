//! The self-contained HTML report: tables and SVG plots drawn by the program, inline, so the
//! file opens in a browser with no network access. The markup is well-formed XML (XHTML
//! style), which the tests check.

use crate::{Evaluation, Proposal};
use plotters::prelude::*;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type PlotResult = Result<(), Box<dyn std::error::Error>>;

fn svg(draw: impl FnOnce(&mut String) -> PlotResult) -> String {
    let mut s = String::new();
    match draw(&mut s) {
        // plotters writes an XML declaration-free <svg> element we can inline.
        Ok(()) => s,
        Err(e) => format!("<p class=\"err\">plot unavailable: {}</p>", esc(&e.to_string())),
    }
}

fn pr_curve(evals: &[&Evaluation]) -> String {
    svg(|out| {
        let root = SVGBackend::with_string(out, (560, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Precision / recall over the score threshold (buyers)", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        chart.configure_mesh().x_desc("recall").y_desc("precision").draw()?;
        for (i, e) in evals.iter().enumerate() {
            let pts: Vec<(f64, f64)> =
                e.curve.iter().filter(|p| p.flagged > 0).map(|p| (p.recall, p.precision)).collect();
            let c = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                .label(e.pack.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
        root.present()?;
        Ok(())
    })
}

fn bars(title: &str, x_desc: &str, labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    svg(|out| {
        let root = SVGBackend::with_string(out, (560, 340)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = series.iter().flat_map(|s| s.1.iter().copied()).fold(1.0f64, f64::max) * 1.1;
        let n = labels.len().max(1);
        let k = series.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)?;
        let labels_owned = labels.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .x_labels(n.min(14))
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (*x - i as f64).abs() < 1e-9 {
                    labels_owned.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()?;
        for (si, (name, vals)) in series.iter().enumerate() {
            let c = COLORS[si % COLORS.len()];
            let w = 0.8 / k as f64;
            chart
                .draw_series(vals.iter().enumerate().map(|(i, v)| {
                    let x0 = i as f64 + 0.1 + si as f64 * w;
                    Rectangle::new([(x0, 0.0), (x0 + w, *v)], c.filled())
                }))?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
        }
        if k > 1 {
            chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
        }
        root.present()?;
        Ok(())
    })
}

fn lines(title: &str, x_desc: &str, y_desc: &str, xs: &[f64], series: &[(String, Vec<f64>)]) -> String {
    svg(|out| {
        let root = SVGBackend::with_string(out, (560, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = series.iter().flat_map(|s| s.1.iter().copied()).fold(0.01f64, f64::max) * 1.1;
        let (x0, x1) = (xs.first().copied().unwrap_or(0.0), xs.last().copied().unwrap_or(1.0).max(1.0));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, 0f64..max)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
        for (si, (name, vals)) in series.iter().enumerate() {
            let c = COLORS[si % COLORS.len()];
            chart
                .draw_series(LineSeries::new(xs.iter().copied().zip(vals.iter().copied()), c.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
        root.present()?;
        Ok(())
    })
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

fn rate_table(h: &mut String, heading: &str, cols: [&str; 4], rows: &[crate::Rate]) {
    let _ = write!(h, "{heading}<table><tr>");
    for c in cols {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for r in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.group),
            r.total,
            r.flagged,
            pct(r.rate)
        );
    }
    h.push_str("</table>");
}

/// Render the report for the main pack and, optionally, a comparison pack (the baseline).
pub fn html(main: &Evaluation, baseline: Option<&Evaluation>, proposal: Option<&Proposal>, title: &str) -> String {
    let evals: Vec<&Evaluation> = std::iter::once(main).chain(baseline).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title>{t}</title><style>\
body{{font-family:sans-serif;max-width:1180px;margin:24px auto;color:#222}}table{{border-collapse:collapse;margin:8px 0 18px}}\
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}\
.plots{{display:flex;flex-wrap:wrap;gap:12px}}.note{{color:#555;font-size:90%}}.err{{color:#a00}}</style></head><body>\
<h1>{t}</h1><p class=\"note\">Detection measured on a simulated world with known answers. Financial metadata only.</p>",
        t = esc(title)
    );
    let page = Page { main, proposal, evals: &evals };
    summary(&mut h, &page);
    plots(&mut h, &page);
    score_distributions(&mut h, &page);
    curve_table(&mut h, &page);
    groups(&mut h, &page);
    h.push_str("</body></html>\n");
    h
}

/// What every section of the report reads.
struct Page<'a> {
    main: &'a Evaluation,
    proposal: Option<&'a Proposal>,
    /// The main pack's evaluation, then the baseline's.
    evals: &'a [&'a Evaluation],
}

/// Side-by-side summary.
fn summary(h: &mut String, p: &Page<'_>) {
    h.push_str("<h2>Summary</h2><table><tr><th>measure</th>");
    for e in p.evals {
        let _ = write!(h, "<th>{}</th>", esc(&e.pack));
    }
    h.push_str("</tr>");
    let row = |h: &mut String, name: &str, f: &dyn Fn(&Evaluation) -> String| {
        let _ = write!(h, "<tr><td>{}</td>", esc(name));
        for e in p.evals {
            let _ = write!(h, "<td>{}</td>", esc(&f(e)));
        }
        h.push_str("</tr>");
    };
    row(h, "buyers (ground truth)", &|e| e.buyers.truth.to_string());
    row(h, "senders alerted", &|e| e.buyers.flagged.to_string());
    row(h, "buyer recall", &|e| pct(e.buyers.recall));
    row(h, "buyer precision", &|e| pct(e.buyers.precision));
    row(h, "buyer F1", &|e| format!("{:.3}", e.buyers.f1));
    row(h, "facilitator recall", &|e| pct(e.facilitators.recall));
    row(h, "facilitator precision", &|e| pct(e.facilitators.precision));
    row(h, "alerts on unknown entities", &|e| {
        (e.buyers.unknown_entities + e.facilitators.unknown_entities).to_string()
    });
    row(h, "sender alerts per 10,000 senders", &|e| format!("{:.1}", e.sender_alerts_per_10k));
    row(h, "alerts per month", &|e| format!("{:.1}", e.alerts_per_month));
    row(h, "median days to detection", &|e| opt(e.median_days_to_detection));
    row(h, "median OSEC payments before detection", &|e| opt(e.median_payments_before_detection));
    row(h, "OSEC money paid before detection", &|e| format!("{:.0}", e.osec_amount_before_detection));
    row(h, "share of OSEC money after detection (stoppable)", &|e| pct(e.share_after_detection));
    h.push_str("</table>");
}

/// Plots.
fn plots(h: &mut String, p: &Page<'_>) {
    h.push_str("<h2>Plots</h2><div class=\"plots\">");
    h.push_str(&pr_curve(p.evals));
    let bins = [0.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0];
    let labels: Vec<String> =
        bins.windows(2).map(|w| format!("{}-{}", w[0], w[1])).chain([">365".to_string()]).collect();
    let ttd_series: Vec<(String, Vec<f64>)> = p
        .evals
        .iter()
        .map(|e| {
            let mut counts = vec![0.0; labels.len()];
            for t in &e.time_to_detection {
                let i = bins.windows(2).position(|w| t.days < w[1]).unwrap_or(labels.len() - 1);
                counts[i] += 1.0;
            }
            (e.pack.clone(), counts)
        })
        .collect();
    h.push_str(&bars("Days from first OSEC payment to first alert", "days", &labels, &ttd_series));
    let months: Vec<String> = {
        let mut m: Vec<String> = p.evals.iter().flat_map(|e| e.alerts_by_month.keys().cloned()).collect();
        m.sort();
        m.dedup();
        m
    };
    let month_series: Vec<(String, Vec<f64>)> = p
        .evals
        .iter()
        .map(|e| (e.pack.clone(), months.iter().map(|m| *e.alerts_by_month.get(m).unwrap_or(&0) as f64).collect()))
        .collect();
    h.push_str(&bars("Alerts raised per month", "month", &months, &month_series));
}

/// Score distributions: share of each archetype's scored senders per 10-point bin.
fn score_distributions(h: &mut String, p: &Page<'_>) {
    let mut arch: Vec<(&String, &Vec<f64>)> = p.main.scores_by_archetype.iter().collect();
    arch.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let xs: Vec<f64> = (0..=10).map(|i| i as f64 * 10.0).collect();
    let dist: Vec<(String, Vec<f64>)> = arch
        .iter()
        .take(8)
        .map(|(a, v)| {
            let mut c = vec![0.0; xs.len()];
            for s in v.iter() {
                c[((s / 10.0).floor() as usize).min(10)] += 1.0;
            }
            let n = v.len().max(1) as f64;
            ((*a).clone(), c.into_iter().map(|x| x / n).collect())
        })
        .collect();
    h.push_str(&lines(
        &format!("Max score per sender by archetype ({})", p.main.pack),
        "score",
        "share of senders",
        &xs,
        &dist,
    ));
    if !p.main.curve.is_empty() {
        let th: Vec<f64> = p.main.curve.iter().map(|p| p.threshold).collect();
        let pr = vec![
            ("precision".to_string(), p.main.curve.iter().map(|p| p.precision).collect()),
            ("recall".to_string(), p.main.curve.iter().map(|p| p.recall).collect()),
        ];
        let title = format!("Precision and recall against the threshold ({})", p.main.pack);
        h.push_str(&lines(&title, "score threshold", "share", &th, &pr));
        let load = vec![(
            "sender alerts per 10,000 senders".to_string(),
            p.main.curve.iter().map(|p| p.alerts_per_10k).collect(),
        )];
        let title = format!("Alert load against the threshold ({})", p.main.pack);
        h.push_str(&lines(&title, "score threshold", "alerts per 10,000 senders", &th, &load));
    }
    h.push_str("</div>");
}

/// Threshold curve table.
fn curve_table(h: &mut String, p: &Page<'_>) {
    if !p.main.curve.is_empty() {
        let _ = write!(h, "<h2>Score threshold ({})</h2><table><tr><th>threshold</th><th>senders flagged</th><th>per 10,000</th><th>precision</th><th>recall</th></tr>", esc(&p.main.pack));
        for p in p.main.curve.iter().filter(|p| p.flagged > 0) {
            let _ = write!(
                h,
                "<tr><td>{:.0}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
                p.threshold,
                p.flagged,
                p.alerts_per_10k,
                pct(p.precision),
                pct(p.recall)
            );
        }
        h.push_str("</table>");
    }
    if let Some(p) = p.proposal {
        h.push_str("<h2>Proposed thresholds</h2>");
        match (&p.review, &p.block) {
            (Some(r), b) => {
                let _ = write!(
                    h,
                    "<p>review at <b>{:.0}</b> ({} senders, {:.1} per 10,000, precision {}, recall {})",
                    r.threshold,
                    r.flagged,
                    r.alerts_per_10k,
                    pct(r.precision),
                    pct(r.recall)
                );
                match b {
                    Some(b) => {
                        let _ = write!(
                            h,
                            "; block at <b>{:.0}</b> (precision {}, recall {})",
                            b.threshold,
                            pct(b.precision),
                            pct(b.recall)
                        );
                    }
                    None => h.push_str("; no threshold reaches the block precision"),
                }
                h.push_str(".</p><table><tr><th>within 10 points below the review line</th><th>senders</th></tr>");
                for (k, n) in &p.below_line_counts {
                    let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(k));
                }
                h.push_str(
                    "</table><table><tr><th>a sample</th><th>max score</th><th>role</th><th>archetype</th></tr>",
                );
                for s in &p.below_line {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td></tr>",
                        esc(&s.entity_id),
                        s.max_score,
                        esc(&s.role),
                        esc(&s.archetype)
                    );
                }
                h.push_str("</table>");
            }
            (None, _) => h.push_str("<p>No threshold meets the target.</p>"),
        }
    }
}

/// Recall per buyer archetype, false positives and fairness per benign group.
fn groups(h: &mut String, p: &Page<'_>) {
    for e in p.evals {
        let pack = esc(&e.pack);
        rate_table(
            h,
            &format!("<h2>{pack}: recall by buyer archetype</h2>"),
            ["archetype", "buyers", "detected", "recall"],
            &e.recall_by_archetype,
        );
        rate_table(
            h,
            &format!("<h2>{pack}: fairness and false positives by benign archetype</h2>"),
            ["archetype", "senders", "alerted", "alert rate"],
            &e.false_positives_by_archetype,
        );
        rate_table(
            h,
            &format!("<h3>{pack}: benign alert rate by sender country</h3>"),
            ["country", "benign senders", "alerted", "rate"],
            &e.benign_rate_by_country,
        );
        let _ = write!(h, "<h3>{pack}: top false-positive causes (archetype, rule)</h3><table><tr><th>benign archetype</th><th>rule</th><th>alerts</th></tr>");
        for (a, r, n) in e.false_positive_rules.iter().take(15) {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(a), esc(r), n);
        }
        h.push_str("</table>");
    }
}
