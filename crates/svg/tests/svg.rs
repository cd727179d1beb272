//! The network picture: well-formed XML whatever the ids, every member drawn or folded, a
//! hub's other payers folded into one node with its counts.

use osecwatch_engine::{Network, NetworkEdge, NetworkMember, PayerCounts};
use osecwatch_svg::{network_svg, MAX_ROWS};

fn member(id: &str, role: &'static str, payers: Option<PayerCounts>) -> NetworkMember {
    NetworkMember { entity_id: id.into(), role, alert_ids: vec![format!("AL-{id}")], payers }
}

fn edge(s: &str, r: &str, payments: u32, amount: &str) -> NetworkEdge {
    NetworkEdge {
        sender: s.into(),
        recipient: r.into(),
        payments,
        night_payments: payments / 2,
        amount: amount.into(),
        first_payment: "2024-01-05T22:00:00Z".into(),
        last_payment: "2024-03-01T23:00:00Z".into(),
    }
}

fn network(buyers: usize, hub: bool) -> Network {
    let mut members: Vec<NetworkMember> = (0..buyers).map(|i| member(&format!("B{i:03}"), "buyer", None)).collect();
    members.push(member("F<&\"'>", "facilitator", Some(PayerCounts { unrelated: 256, risky: 7, hub })));
    members.push(member("G", "facilitator", Some(PayerCounts { unrelated: 2, risky: 2, hub: false })));
    let mut edges: Vec<NetworkEdge> = (0..buyers).map(|i| edge(&format!("B{i:03}"), "F<&\"'>", 3, "90.00")).collect();
    edges.push(edge("B000", "G", 2, "60.00"));
    edges.push(edge("B001", "G", 1, "25.50"));
    Network {
        network_id: "NW-00000000000000ab".into(),
        members,
        edges,
        payments: 3 * buyers as u64 + 3,
        amount: format!("{:.2}", 90.0 * buyers as f64 + 85.5),
        currency: "EUR".into(),
        first_payment: "2024-01-05T22:00:00Z".into(),
        last_payment: "2024-03-01T23:00:00Z".into(),
    }
}

/// Every text node of the document, checking it is well-formed XML on the way.
fn texts(svg: &str) -> Vec<String> {
    let mut r = quick_xml::Reader::from_str(svg);
    let mut out = Vec::new();
    let mut depth = 0i32;
    loop {
        match r.read_event().unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}")) {
            quick_xml::events::Event::Start(_) => depth += 1,
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Text(t) => out.push(t.decode().unwrap().into_owned()),
            quick_xml::events::Event::GeneralRef(g) => {
                let name = String::from_utf8(g.to_vec()).unwrap();
                let c = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                };
                match out.last_mut() {
                    Some(last) => last.push_str(c),
                    None => out.push(c.into()),
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    out
}

#[test]
fn a_small_network_draws_every_member_and_folds_the_hubs_other_payers() {
    let svg = network_svg(&network(5, true));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let all = texts(&svg).join("\n");
    for id in ["B000", "B004", "G"] {
        assert!(all.contains(id), "{id} missing:\n{all}");
    }
    assert!(all.contains("5 buyers, 2 facilitators"), "{all}");
    assert!(all.contains("18 payments, 535.50 EUR, 2024-01-05 to 2024-03-01"), "{all}");
    // The hub: 256 unrelated payers, 5 drawn, the other 251 (and more: capped) folded; of
    // its 7 risky payers, the 5 members leave 2.
    assert!(all.contains("+251+ other payers, 2 with buyer evidence (hub: capped)"), "{all}");
    // G has no payers outside the network: no fold node.
    assert!(!all.contains("G: +"), "{all}");
    // Nothing that needs a network connection or runs code.
    assert!(!svg.contains("<script") && !svg.contains("href"));
}

#[test]
fn ids_that_look_like_markup_are_escaped() {
    let svg = network_svg(&network(2, false));
    assert!(!svg.contains("F<&"), "raw id in the document");
    let all = texts(&svg).join("\n");
    assert!(all.contains("F<&\"'>"), "{all}");
}

#[test]
fn a_large_network_folds_the_buyers_with_least_money_into_one_row() {
    let mut n = network(MAX_ROWS + 25, false);
    // The buyer paying the least is folded; the one paying the most is drawn.
    n.edges[3].amount = "1000.00".into();
    n.edges[4].amount = "1.00".into();
    let svg = network_svg(&n);
    let all = texts(&svg);
    let labels: Vec<&String> = all.iter().filter(|t| t.starts_with('B') && t.len() == 4).collect();
    assert_eq!(labels.len(), MAX_ROWS - 1, "{labels:?}");
    assert!(all.iter().any(|t| t == "B003"));
    assert!(!all.iter().any(|t| t == "B004"));
    assert!(all.iter().any(|t| t == &format!("+{} more buyers", 26)), "{all:?}");
    // The picture stays one screen tall or so.
    let h: f64 = svg.split("height=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    assert!(h < 1300.0, "{h}");
}

#[test]
fn an_ego_network_shows_one_member_its_neighbours_and_folds_the_rest() {
    let n = network(5, true);
    let svg = osecwatch_svg::ego_svg(&n, "B000").expect("a member");
    let all = texts(&svg).join("\n");
    assert!(all.contains("Around B000 (buyer) in network NW-00000000000000ab : 1 buyer, 2 facilitators"), "{all}");
    assert!(!all.contains("B001"), "only the focus and its neighbours: {all}");
    // The hub's other 255 payers (and more) are one node; B000 paid 90.00 and 60.00.
    assert!(all.contains("+255+ other payers"), "{all}");
    assert!(all.contains("5 payments, 150.00 EUR"), "{all}");
    // A facilitator's ego network: its buyers.
    let g = texts(&osecwatch_svg::ego_svg(&n, "G").unwrap()).join("\n");
    assert!(g.contains("2 buyers, 1 facilitator") && g.contains("B001") && !g.contains("B002"), "{g}");
    assert!(osecwatch_svg::ego_svg(&n, "nobody").is_none());
}
