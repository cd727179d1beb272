//! Ego-network pictures: one network of buyers and facilitators as a self-contained SVG, for
//! `scan`'s `networks/` folder, the service's `GET /v1/networks/{id}/svg`, reports and the
//! workbench.
//!
//! The picture is a two-column bipartite drawing: buyers on the left, facilitators in the
//! middle, and, right of each facilitator, one grey node that folds all its payers outside
//! the network ("+240 other payers, 3 with buyer evidence"). That fold is what keeps a hub
//! readable: a remittance agent's pooled account paid by thousands is one node, not
//! thousands. Networks with more than [`MAX_ROWS`] buyers or facilitators fold the ones
//! with the least money into one node per column, and say how many.
//!
//! Rows are ordered by the barycentre of their neighbours (two passes), which removes most
//! edge crossings in these small, nearly bipartite-complete groups without a layout engine.
//! Every node and edge has a `<title>` with its figures, so a browser shows them on hover.
//! [`ego_svg`] draws one member's neighbourhood the same way (for a large network, and for
//! the case view of one customer).
//! No script, no external font or stylesheet: the file can be attached to a report as is.
//! Hand-written rather than drawn with a plotting crate: the drawing is a few dozen
//! elements at fixed positions, and a plotting crate brings axes and fonts it does not need.

use osecwatch_engine::{Network, NetworkEdge};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// At most this many buyers (and facilitators) are drawn one by one; the rest are folded.
pub const MAX_ROWS: usize = 40;

const ROW: f64 = 26.0;
const TOP: f64 = 78.0;
const WIDTH: f64 = 960.0;
const X_BUYER: f64 = 250.0;
const X_FAC: f64 = 590.0;
const X_OTHER: f64 = 800.0;
/// Labels longer than this are cut (the full id is in the node's title).
const LABEL_CHARS: usize = 26;

/// One drawn node of a column: a member, or the fold of several.
struct Row {
    /// Member ids behind it (one, or the folded ones).
    ids: Vec<String>,
    /// Money of its edges, in the base currency.
    money: f64,
}

/// The picture of `n` as an SVG document.
pub fn network_svg(n: &Network) -> String {
    draw(n, &format!("Network {}", n.network_id))
}

/// The ego network of one member of `n`: the member, the members it paid or was paid by,
/// and the payments between them; everything else folded into each facilitator's grey node.
/// For a buyer that is AUSTRAC's question, who else pays my customer's recipients; for a
/// facilitator, who pays it. `None` if `focus` is not a member.
pub fn ego_svg(n: &Network, focus: &str) -> Option<String> {
    let me = n.members.iter().find(|m| m.entity_id == focus)?;
    let edges: Vec<NetworkEdge> =
        n.edges.iter().filter(|e| e.sender == focus || e.recipient == focus).cloned().collect();
    let touched = |id: &str| id == focus || edges.iter().any(|e| e.sender == id || e.recipient == id);
    let members: Vec<_> = n.members.iter().filter(|m| touched(&m.entity_id)).cloned().collect();
    let payments = edges.iter().map(|e| e.payments as u64).sum();
    let decimals = n.amount.split_once('.').map_or(0, |(_, f)| f.len());
    let total: f64 = edges.iter().map(|e| amount(&e.amount)).sum();
    let first = edges.iter().map(|e| e.first_payment.clone()).min().unwrap_or_default();
    let last = edges.iter().map(|e| e.last_payment.clone()).max().unwrap_or_default();
    let ego = Network {
        network_id: n.network_id.clone(),
        members,
        edges,
        payments,
        amount: format!("{total:.decimals$}"),
        currency: n.currency.clone(),
        first_payment: first,
        last_payment: last,
    };
    Some(draw(&ego, &format!("Around {} ({}) in network {}", me.entity_id, me.role, n.network_id)))
}

/// Where everything goes: the two columns of rows, in drawing order.
struct Layout {
    buyers: Vec<Row>,
    facilitators: Vec<Row>,
    height: f64,
    /// Decimals of the base currency, as the record writes amounts.
    decimals: usize,
}

/// The y of row `i`'s centre.
fn y(i: usize) -> f64 {
    TOP + ROW * i as f64 + ROW / 2.0
}

impl Layout {
    /// Rows of both columns, folded, then ordered by barycentre: facilitators by id first,
    /// then buyers by their facilitators' mean row, facilitators by their buyers', and
    /// buyers once more.
    fn of(n: &Network) -> Layout {
        let column = |buyer: bool, side: fn(&NetworkEdge) -> &str| {
            let ids = n.members.iter().filter(|m| (m.role == "buyer") == buyer).map(|m| m.entity_id.as_str());
            fold(
                ids.map(|id| {
                    (id.to_string(), n.edges.iter().filter(|e| side(e) == id).map(|e| amount(&e.amount)).sum())
                })
                .collect(),
            )
        };
        let mut buyers = column(true, |e| &e.sender);
        let mut facilitators = column(false, |e| &e.recipient);
        facilitators.sort_by(|a, b| a.ids.cmp(&b.ids));
        for _ in 0..2 {
            order_by_neighbours(&mut buyers, &facilitators, n, |e| (&e.sender, &e.recipient));
            order_by_neighbours(&mut facilitators, &buyers, n, |e| (&e.recipient, &e.sender));
        }
        order_by_neighbours(&mut buyers, &facilitators, n, |e| (&e.sender, &e.recipient));
        let height = TOP + ROW * buyers.len().max(facilitators.len()) as f64 + 70.0;
        let decimals = n.amount.split_once('.').map_or(0, |(_, f)| f.len());
        Layout { buyers, facilitators, height, decimals }
    }

    fn money(&self, x: f64) -> String {
        format!("{x:.*}", self.decimals)
    }
}

/// The row of `id` in a column.
fn row_of(rows: &[Row], id: &str) -> Option<usize> {
    rows.iter().position(|r| r.ids.iter().any(|x| x == id))
}

/// The picture of `n` under `title`.
fn draw(n: &Network, title: &str) -> String {
    let l = Layout::of(n);
    let mut s = String::with_capacity(8192);
    header(&mut s, n, title, l.height);
    edges(&mut s, n, &l);
    nodes(&mut s, n, &l);
    legend(&mut s, l.height);
    s.push_str("</svg>\n");
    s
}

/// The document's start, its title and the two lines of figures.
fn header(s: &mut String, n: &Network, title: &str, height: f64) {
    let count = |buyer: bool| n.members.iter().filter(|m| (m.role == "buyer") == buyer).count();
    let (buyers, facs) = (count(true), count(false));
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="t">"#
    );
    let _ = write!(s, r#"<title id="t">{}</title>"#, esc(title));
    s.push_str(r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = write!(
        s,
        r##"<text x="20" y="26" font-size="15" font-weight="bold" fill="#222">{} : {buyers} buyer{}, {facs} facilitator{}</text>"##,
        esc(title),
        plural(buyers),
        plural(facs),
    );
    let _ = write!(
        s,
        r##"<text x="20" y="46" fill="#444">{} payments, {} {}, {} to {}</text>"##,
        n.payments,
        esc(&n.amount),
        esc(&n.currency),
        day(&n.first_payment),
        day(&n.last_payment),
    );
}

/// One line per pair of rows with payments between them (drawn first, so nodes cover them).
fn edges(s: &mut String, n: &Network, l: &Layout) {
    let mut pairs: BTreeMap<(usize, usize), (u32, u32, f64)> = BTreeMap::new();
    for e in &n.edges {
        if let (Some(b), Some(f)) = (row_of(&l.buyers, &e.sender), row_of(&l.facilitators, &e.recipient)) {
            let p = pairs.entry((b, f)).or_default();
            p.0 += e.payments;
            p.1 += e.night_payments;
            p.2 += amount(&e.amount);
        }
    }
    for (&(b, f), &(count, night, amount)) in &pairs {
        // 1 px up to 10 units of money, then 1.5 px more per tenfold, at most 6 px.
        let width = (1.0 + (amount.max(1.0) / 10.0).log10().max(0.0) * 1.5).min(6.0);
        let folded = l.buyers[b].ids.len() > 1 || l.facilitators[f].ids.len() > 1;
        let _ = write!(
            s,
            r##"<line x1="{X_BUYER}" y1="{:.1}" x2="{X_FAC}" y2="{:.1}" stroke="#7f8c8d" stroke-width="{width:.1}"{}><title>{} payments ({} at night), {} {}</title></line>"##,
            y(b),
            y(f),
            // Folded rows have an edge to nearly every row: faint, so the members' edges read.
            if folded { r#" stroke-opacity="0.25" stroke-dasharray="4 3""# } else { r#" stroke-opacity="0.7""# },
            count,
            night,
            l.money(amount),
            esc(&n.currency),
        );
    }
}

/// The buyers' circles, the facilitators' squares with their fold of other payers, labels.
fn nodes(s: &mut String, n: &Network, l: &Layout) {
    let many = |r: &Row| if r.ids.len() > 1 { "s" } else { "" };
    for (i, r) in l.buyers.iter().enumerate() {
        let _ = write!(
            s,
            r##"<circle cx="{X_BUYER}" cy="{:.1}" r="7" fill="#b03a2e"><title>{} (buyer{}): {} {}</title></circle><text x="{}" y="{:.1}" text-anchor="end" fill="#222">{}</text>"##,
            y(i),
            esc(&r.ids.join(", ")),
            many(r),
            l.money(r.money),
            esc(&n.currency),
            X_BUYER - 14.0,
            y(i) + 4.0,
            esc(&row_label(r, "buyers")),
        );
    }
    for (i, r) in l.facilitators.iter().enumerate() {
        let _ = write!(
            s,
            r##"<rect x="{}" y="{:.1}" width="14" height="14" fill="#6c3483"><title>{} (facilitator{}): received {} {} from this network</title></rect><text x="{}" y="{:.1}" fill="#222">{}</text>"##,
            X_FAC - 7.0,
            y(i) - 7.0,
            esc(&r.ids.join(", ")),
            many(r),
            l.money(r.money),
            esc(&n.currency),
            X_FAC + 14.0,
            y(i) + 4.0,
            esc(&row_label(r, "facilitators")),
        );
        if r.ids.len() == 1 {
            other_payers(s, n, &r.ids[0], y(i));
        }
    }
}

/// What the marks mean.
fn legend(s: &mut String, height: f64) {
    let ly = height - 28.0;
    let _ = write!(
        s,
        r##"<g fill="#444"><circle cx="26" cy="{ly}" r="6" fill="#b03a2e"/><text x="38" y="{:.1}">buyer (alerted sender)</text><rect x="200" y="{:.1}" width="12" height="12" fill="#6c3483"/><text x="218" y="{:.1}">facilitator (alerted recipient)</text><circle cx="420" cy="{ly}" r="6" fill="#bdc3c7"/><text x="432" y="{:.1}">its payers outside the network, folded into one node</text><text x="20" y="{:.1}">Line width grows with the money paid; dashed lines join folded nodes. Financial metadata only.</text></g>"##,
        ly + 4.0,
        ly - 6.0,
        ly + 4.0,
        ly + 4.0,
        ly + 22.0,
    );
}

/// The grey node right of a facilitator: every payer of its that is not a member of the
/// network, as one node with how many and how many of them look risky.
fn other_payers(s: &mut String, n: &Network, fac: &str, y: f64) {
    let Some(p) = n.members.iter().find(|m| m.entity_id == fac).and_then(|m| m.payers) else { return };
    let in_network = n.edges.iter().filter(|e| e.recipient == fac).count() as u32;
    let others = p.unrelated.saturating_sub(in_network);
    if others == 0 && !p.hub {
        return;
    }
    let risky_members = in_network.min(p.risky);
    let risky_others = p.risky.saturating_sub(risky_members);
    let more = if p.hub { "+" } else { "" };
    let text = format!(
        "+{others}{more} other payer{}, {risky_others} with buyer evidence{}",
        plural(others as usize),
        if p.hub { " (hub: capped)" } else { "" }
    );
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{y:.1}" x2="{X_OTHER}" y2="{y:.1}" stroke="#bdc3c7" stroke-dasharray="2 3"/><circle cx="{X_OTHER}" cy="{y:.1}" r="6" fill="#bdc3c7"><title>{}: {}</title></circle><text x="{}" y="{:.1}" fill="#666">{}</text>"##,
        X_FAC + 7.0,
        esc(fac),
        esc(&text),
        X_OTHER + 10.0,
        y + 4.0,
        esc(&text),
    );
}

/// Members of one column as rows: one each, or, beyond [`MAX_ROWS`], the ones with the
/// most money one each and the rest as one folded row.
fn fold(mut members: Vec<(String, f64)>) -> Vec<Row> {
    members.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if members.len() <= MAX_ROWS {
        return members.into_iter().map(|(id, money)| Row { ids: vec![id], money }).collect();
    }
    let rest = members.split_off(MAX_ROWS - 1);
    let mut rows: Vec<Row> = members.into_iter().map(|(id, money)| Row { ids: vec![id], money }).collect();
    rows.push(Row { money: rest.iter().map(|r| r.1).sum(), ids: rest.into_iter().map(|r| r.0).collect() });
    rows
}

/// Sort `rows` by the mean position of their neighbours in `other` (`ends`: an edge's end
/// on this side, then on the other); ties and rows without neighbours keep id order.
fn order_by_neighbours(
    rows: &mut Vec<Row>,
    other: &[Row],
    n: &Network,
    ends: impl Fn(&NetworkEdge) -> (&String, &String),
) {
    let pos_of = |id: &str| other.iter().position(|r| r.ids.iter().any(|x| x == id));
    let mut keyed: Vec<(f64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ps: Vec<usize> = n
                .edges
                .iter()
                .filter(|e| r.ids.iter().any(|x| x == ends(e).0))
                .filter_map(|e| pos_of(ends(e).1))
                .collect();
            let bary = if ps.is_empty() { f64::MAX } else { ps.iter().sum::<usize>() as f64 / ps.len() as f64 };
            (bary, i)
        })
        .collect();
    // A folded row always goes last.
    keyed.sort_by(|a, b| {
        let fa = rows[a.1].ids.len() > 1;
        let fb = rows[b.1].ids.len() > 1;
        fa.cmp(&fb).then(a.0.total_cmp(&b.0)).then_with(|| rows[a.1].ids.cmp(&rows[b.1].ids))
    });
    let mut old: Vec<Option<Row>> = std::mem::take(rows).into_iter().map(Some).collect();
    *rows = keyed.into_iter().map(|(_, i)| old[i].take().expect("each row is placed once")).collect();
}

fn row_label(r: &Row, what: &str) -> String {
    if r.ids.len() > 1 {
        return format!("+{} more {what}", r.ids.len());
    }
    let id = &r.ids[0];
    if id.chars().count() <= LABEL_CHARS {
        id.clone()
    } else {
        let cut: String = id.chars().take(LABEL_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// A plain decimal amount as a number (anything else reads as 0: the engine wrote it).
fn amount(text: &str) -> f64 {
    text.parse().unwrap_or(0.0)
}

/// The date part of an RFC 3339 time.
fn day(ts: &str) -> String {
    esc(ts.get(..10).unwrap_or(ts))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Text and attribute escaping for XML (and so for SVG inside HTML); control characters,
/// which XML 1.0 forbids, become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
