//! The case page's timeline: each evidence payment as a dot, time across, amount up (log
//! scale, since EUR 10 sessions and EUR 500 bundles sit in one case), coloured by recipient;
//! payments made at night (sender-local, the pack's night hours) get a dark ring, and when
//! the case spans a few weeks the nights themselves are shaded. Plain SVG, drawn on the
//! server: no script, no external asset.

use std::fmt::Write;

/// One dot.
pub struct Dot<'a> {
    /// Event time, UTC seconds.
    pub utc: i64,
    /// Sender-local hour (0-23).
    pub local_hour: u8,
    /// Sender-local offset, seconds east of UTC.
    pub offset: i32,
    /// Amount in major units (for the axis and the tooltip).
    pub amount: f64,
    /// Which recipient (an index into the legend).
    pub recipient: usize,
    /// The payment id (tooltip).
    pub txn_id: &'a str,
    /// Made at night.
    pub night: bool,
}

/// Colours for recipients, distinguishable for common colour-vision deficiencies (Okabe-Ito,
/// with its pale yellow swapped for a purple that keeps 3:1 against white, WCAG 1.4.11).
pub const PALETTE: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7F3C8D", "#000000"];

pub use osecwatch_svg::esc;

const W: f64 = 760.0;
const H: f64 = 240.0;
const LEFT: f64 = 74.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// The timeline as an SVG element; `night` gives the pack's night hours (start, end).
pub fn timeline(dots: &[Dot<'_>], currency: &str, night: (u8, u8)) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-labelledby="tl-title" class="timeline"><title id="tl-title">Payments over time: amount against date, one colour per recipient, night payments ringed</title>"#
    );
    if dots.is_empty() {
        s.push_str(r#"<text x="20" y="40">no evidence payments</text></svg>"#);
        return s;
    }
    let t0 = dots.iter().map(|d| d.utc).min().unwrap_or(0);
    let t1 = dots.iter().map(|d| d.utc).max().unwrap_or(0).max(t0 + 3600);
    let pad = ((t1 - t0) / 40).max(1800);
    let (t0, t1) = (t0 - pad, t1 + pad);
    let amax = dots.iter().map(|d| d.amount).fold(1.0_f64, f64::max);
    let amin = dots.iter().map(|d| d.amount).fold(f64::MAX, f64::min).max(0.01);
    let (l0, l1) = (amin.log10().floor(), amax.log10().ceil().max(amin.log10().floor() + 1.0));
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |a: f64| H - BOTTOM - (a.max(0.01).log10() - l0) / (l1 - l0) * (H - TOP - BOTTOM);
    // Nights, shaded when a night is wide enough to see (spans up to about 45 days).
    if t1 - t0 <= 45 * 86400 {
        let offset = dots[0].offset as i64;
        let (ns, ne) = (night.0 as i64, night.1 as i64);
        let len = if ne > ns { ne - ns } else { 24 - ns + ne } * 3600;
        let mut day = (t0 + offset).div_euclid(86400) * 86400 - offset - 86400;
        while day < t1 {
            let a = (day + ns * 3600).max(t0);
            let b = (day + ns * 3600 + len).min(t1);
            if b > a {
                let _ = write!(
                    s,
                    r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="#d9dde8"/>"##,
                    x(a),
                    x(b) - x(a),
                    H - TOP - BOTTOM
                );
            }
            day += 86400;
        }
    }
    // Axes: amount gridlines at powers of ten, dates at the ends and the middle.
    let mut e = l0;
    while e <= l1 {
        let v = 10f64.powf(e);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#c8c8c8"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{} {}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            y(v) + 4.0,
            esc(currency),
            v,
            y = y(v)
        );
        e += 1.0;
    }
    for t in [t0 + pad, (t0 + t1) / 2, t1 - pad] {
        let d = chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        let _ =
            write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{d}</text>"#, x(t), H - 10.0);
    }
    for d in dots {
        let colour = PALETTE[d.recipient % PALETTE.len()];
        let ring = if d.night {
            r##" stroke="#1b1b3a" stroke-width="2.5""##
        } else {
            r##" stroke="#ffffff" stroke-width="1""##
        };
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{colour}"{ring}><title>{} {currency} {:.2} at {:02}:00 sender-local{}</title></circle>"#,
            x(d.utc),
            y(d.amount),
            esc(d.txn_id),
            d.amount,
            d.local_hour,
            if d.night { " (night)" } else { "" },
            currency = esc(currency),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(utc: i64, amount: f64, recipient: usize, night: bool) -> Dot<'static> {
        Dot { utc, local_hour: if night { 23 } else { 12 }, offset: 3600, amount, recipient, txn_id: "T<1>", night }
    }

    #[test]
    fn draws_one_dot_per_payment_with_escaped_text() {
        let svg = timeline(&[dot(1_740_000_000, 50.0, 0, true), dot(1_740_400_000, 120.0, 1, false)], "EUR", (20, 4));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("T&lt;1&gt;") && !svg.contains("T<1>"), "ids are escaped");
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]), "one colour per recipient");
        assert!(svg.contains("(night)") && svg.contains("#1b1b3a"), "night payments are ringed");
        assert!(svg.contains("<rect"), "a short span shades the nights");
        let long = timeline(&[dot(1_700_000_000, 50.0, 0, true), dot(1_740_000_000, 60.0, 0, false)], "EUR", (20, 4));
        assert!(!long.contains("<rect"), "a year's span draws no night bands");
        assert!(timeline(&[], "EUR", (20, 4)).contains("no evidence payments"));
    }
}
