//! Synthetic KYC for the customer file and bank details for the beneficiary file, so that a
//! simulated case can be reported end to end. Values come from a hash of (seed, index) only:
//! they carry no information about who is a buyer.

/// splitmix64: a good 64-bit mix for deriving independent values from an index.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const OCCUPATIONS: &[&str] = &[
    "Engineer",
    "Nurse",
    "Teacher",
    "Electrician",
    "Retail clerk",
    "Accountant",
    "Driver",
    "Retired",
    "IT consultant",
    "Cook",
    "Student",
    "Self-employed",
    "Civil servant",
    "Mechanic",
    "Sales representative",
];
const CITIES: &[(&str, &str)] = &[
    ("Berlin", "10"),
    ("Hamburg", "20"),
    ("München", "80"),
    ("Köln", "50"),
    ("Frankfurt am Main", "60"),
    ("Stuttgart", "70"),
    ("Düsseldorf", "40"),
    ("Leipzig", "04"),
    ("Dortmund", "44"),
    ("Essen", "45"),
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schulstraße",
    "Lindenallee",
    "Ringstraße",
    "Bergstraße",
    "Mühlenweg",
];

/// One customer's KYC fields.
pub(crate) struct Kyc {
    pub(crate) birthdate: String,
    pub(crate) ssn: String,
    pub(crate) phone: String,
    pub(crate) occupation: &'static str,
    pub(crate) address: String,
    pub(crate) city: &'static str,
    pub(crate) zip: String,
    pub(crate) opened: String,
}

impl Kyc {
    pub(crate) fn of(seed: u64, customer: u32, country: &str, start: &str) -> Kyc {
        let h = |k: u64| mix(seed ^ mix(customer as u64 * 16 + k));
        let year = 1950 + h(1) % 53;
        let (month, day) = (1 + h(2) % 12, 1 + h(3) % 28);
        let (city, zip_prefix) = CITIES[(h(4) % CITIES.len() as u64) as usize];
        let prefix = match country {
            "DE" => "49",
            "AT" => "43",
            "FR" => "33",
            "NL" => "31",
            "GB" => "44",
            "AU" => "61",
            "US" | "CA" => "1",
            _ => "49",
        };
        // Accounts opened up to 15 years before the world starts.
        let start_year: u64 = start.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2025);
        Kyc {
            birthdate: format!("{year:04}-{month:02}-{day:02}"),
            ssn: format!("{:011}", h(5) % 100_000_000_000),
            phone: format!("+{prefix} 15{} {:07}", h(6) % 10, h(7) % 10_000_000),
            occupation: OCCUPATIONS[(h(8) % OCCUPATIONS.len() as u64) as usize],
            address: format!("{} {}", STREETS[(h(9) % STREETS.len() as u64) as usize], 1 + h(10) % 120),
            city,
            zip: format!("{zip_prefix}{:03}", h(11) % 1000),
            opened: format!("{:04}-{:02}-{:02}", start_year - 1 - h(12) % 15, 1 + h(13) % 12, 1 + h(14) % 28),
        }
    }
}

/// A beneficiary's institution (name, BIC) in its country. Philippine banks use their
/// published BICs; elsewhere the institution is marked synthetic.
pub(crate) fn institution(seed: u64, recipient: u32, country: &str) -> (String, String) {
    const PH: &[(&str, &str)] = &[
        ("BDO Unibank", "BNORPHMM"),
        ("Bank of the Philippine Islands", "BOPIPHMM"),
        ("Metropolitan Bank and Trust Company", "MBTCPHMM"),
        ("Land Bank of the Philippines", "TLBPPHMM"),
        ("Philippine National Bank", "PNBMPHMM"),
    ];
    let h = mix(seed ^ mix(0x5EED_0000 + recipient as u64));
    if country == "PH" {
        let (n, b) = PH[(h % PH.len() as u64) as usize];
        (n.to_string(), b.to_string())
    } else {
        (format!("Synthetic Bank {country} {}", 1 + h % 3), format!("SYNB{country}{}X", 1 + h % 3))
    }
}
