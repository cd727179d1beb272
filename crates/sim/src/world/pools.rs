//! The shared merchant pools: domestic shops, cam sites, VPNs, crypto exchanges, airlines,
//! subscriptions, and hotels, shops and ATMs in each destination.

use super::*;

pub(super) fn build_pools(b: &mut Builder, sc: &Scenario, home: CountryCode) -> Pools {
    // Everyday categories with their share of card payments and typical ticket (assumptions).
    const DOMESTIC: &[(&str, u16, f32, u32)] = &[
        ("Supermarkt", 5411, 35.0, 30),
        ("Restaurant", 5812, 28.0, 18),
        ("Tankstelle", 5541, 55.0, 10),
        ("Apotheke", 5912, 18.0, 7),
        ("Bekleidung", 5651, 60.0, 8),
        ("Elektronik", 5732, 90.0, 4),
        ("Drogerie", 5977, 15.0, 8),
        ("Nahverkehr", 4111, 12.0, 6),
        ("Onlinehandel", 5999, 40.0, 9),
    ];
    let total: u32 = DOMESTIC.iter().map(|d| d.3).sum();
    let mut domestic = Pool { members: Vec::new(), median: Vec::new() };
    for (stem, mcc, median, share) in DOMESTIC {
        let k = (sc.domestic.merchants * share / total).max(1);
        let p = b.pool(k, home, stem, *mcc, *median);
        domestic.members.extend(p.members);
        domestic.median.extend(p.median);
    }
    let intl = |b: &mut Builder, spec: &[(&str, &str)], mcc: u16, median: f32| {
        let mut p = Pool { members: Vec::new(), median: Vec::new() };
        for (country, name) in spec {
            let r = b.add_recipient(name, cc(country), RecipientKind::Merchant, mcc);
            p.members.push(r);
            p.median.push(median * (0.7 + 0.6 * b.rng.random::<f32>()));
        }
        p
    };
    // Fictitious merchants. Cam-site token sellers (MCC 5967) serve both adult consumers
    // and, through bought tokens, some buyers (OS-11, OS-17).
    let cam = intl(
        b,
        &[
            ("NL", "LiveCam Media B.V."),
            ("CY", "StreamStars Ltd"),
            ("US", "CamVille Inc."),
            ("CZ", "Tokenpay s.r.o."),
            ("MT", "NightShow Entertainment Ltd"),
            ("GB", "WebModel Payments Ltd"),
        ],
        5967,
        30.0,
    );
    let vpn = intl(
        b,
        &[
            ("PA", "SecureTunnel VPN"),
            ("CH", "Alpine Privacy AG"),
            ("VG", "HideWay Networks"),
            ("SE", "Nordlys Net AB"),
            ("NL", "PrivaNet B.V."),
            ("US", "ShieldLink LLC"),
        ],
        4816,
        9.0,
    );
    let crypto = intl(
        b,
        &[
            ("MT", "CoinHarbour Ltd"),
            ("LT", "Baltic Digital Assets UAB"),
            ("US", "BlockBridge Inc."),
            ("DE", "Kryptokontor GmbH"),
        ],
        6051,
        100.0,
    );
    let airlines = intl(
        b,
        &[
            ("DE", "Lufthansa-like Air"),
            ("PH", "Island Air Express"),
            ("QA", "Gulf Skyways"),
            ("AE", "Desert Wings"),
            ("TR", "Bosporus Air"),
            ("TH", "Siam Skylines"),
        ],
        4511,
        900.0,
    );
    let phone = intl(b, &[("DE", "Mobilfunk Eins"), ("DE", "Telekomm Plus"), ("DE", "Funknetz 3")], 4814, 25.0);
    let streaming = intl(b, &[("NL", "FlixStream"), ("US", "TuneBox"), ("LU", "VideoWave")], 4899, 12.0);
    let gym = intl(b, &[("DE", "FitWerk Studio"), ("DE", "Kraftraum 24")], 7997, 30.0);
    let mut abroad = BTreeMap::new();
    let mut dests: Vec<CountryCode> = sc.traveller.destinations.keys().copied().collect();
    dests.push(cc("PH"));
    dests.sort();
    dests.dedup();
    for c in dests {
        let hotels = b.pool(15, c, "Hotel", 7011, 80.0);
        let shops = b.pool(30, c, "Restaurant", 5812, 15.0);
        let atms = b.pool(10, c, "ATM", 6011, 100.0);
        abroad.insert(c, (hotels, shops, atms));
    }
    Pools { domestic, cam, vpn, crypto, airlines, phone, streaming, gym, abroad }
}
