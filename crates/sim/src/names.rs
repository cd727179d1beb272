//! Name pools and payment-reference vocabularies.
//!
//! Names are common given names and surnames per naming culture, so that surname matches
//! between a sender and a recipient arise the way they do in real data: by family ties, and
//! now and then by coincidence with a very common surname. Nothing here is a real person.
//!
//! References are shared between archetypes on purpose: every phrase a buyer uses also
//! occurs in honest payments (OS-08 calls cover stories a weak signal), so the reference
//! text alone never gives the answer away.

/// A naming culture: given names and surnames that go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culture {
    German,
    Filipino,
    Thai,
    Vietnamese,
    Romanian,
    Hispanic,
    Indonesian,
    Indian,
    WestAfrican,
    Khmer,
    Turkish,
    Malay,
    English,
}

impl Culture {
    /// The naming culture of a country's residents (a simplification for the generator).
    pub fn of_country(c: &str) -> Culture {
        match c {
            "DE" | "AT" | "CH" => Culture::German,
            "PH" => Culture::Filipino,
            "TH" | "LA" => Culture::Thai,
            "VN" => Culture::Vietnamese,
            "KH" => Culture::Khmer,
            "RO" | "MD" => Culture::Romanian,
            "CO" | "DO" | "MX" | "ES" | "JM" => Culture::Hispanic,
            "ID" => Culture::Indonesian,
            "MY" => Culture::Malay,
            "IN" => Culture::Indian,
            "GH" | "NG" | "CI" | "ZA" => Culture::WestAfrican,
            "TR" => Culture::Turkish,
            _ => Culture::English,
        }
    }

    pub fn given_names(self) -> &'static [&'static str] {
        match self {
            Culture::German => &[
                "Thomas", "Michael", "Andreas", "Stefan", "Frank", "Jürgen", "Klaus", "Peter", "Wolfgang", "Markus",
                "Christian", "Uwe", "Ralf", "Jörg", "Bernd", "Dirk", "Holger", "Sven", "Tobias", "Jan", "Lukas",
                "Felix", "Jonas", "Paul", "Maximilian", "Sabine", "Petra", "Monika", "Andrea", "Claudia", "Susanne",
                "Birgit", "Karin", "Anja", "Julia", "Katharina", "Laura", "Lena", "Anna", "Sarah", "Lisa", "Nicole",
                "Heike", "Ursula", "Renate", "Helmut", "Dieter", "Günter", "Manfred", "Matthias", "Daniel", "Florian",
            ],
            Culture::Filipino => &[
                "Maria", "Rosalie", "Jocelyn", "Marites", "Lorna", "Analyn", "Jennifer", "Grace", "Mary Joy", "Cristina",
                "Rowena", "Rachelle", "Liza", "Imelda", "Josefina", "Juan", "Jose", "Mark", "John Paul", "Rodel",
                "Ramon", "Arnel", "Jomar", "Reynaldo", "Ernesto", "Angelica", "Kristine", "Princess", "Mylene", "Divina",
            ],
            Culture::Thai => &[
                "Somchai", "Somsak", "Prasert", "Kittisak", "Anan", "Niran", "Suda", "Malee", "Siriporn", "Ratana",
                "Kanya", "Pornthip", "Wanida", "Nok", "Ploy", "Naree", "Chai", "Arthit", "Lamai", "Busaba",
            ],
            Culture::Vietnamese => &[
                "Anh", "Hoa", "Lan", "Linh", "Mai", "Ngoc", "Thao", "Trang", "Huong", "Minh", "Tuan", "Duc", "Hung",
                "Quang", "Thanh", "Hai", "Long", "Nam", "Phuong", "Van",
            ],
            Culture::Romanian => &[
                "Andrei", "Mihai", "Ion", "Alexandru", "Florin", "Gheorghe", "Constantin", "Vasile", "Elena", "Ioana",
                "Maria", "Ana", "Mihaela", "Cristina", "Gabriela", "Daniela", "Adriana", "Simona", "Nicoleta", "Raluca",
            ],
            Culture::Hispanic => &[
                "José", "Luis", "Carlos", "Juan", "Miguel", "Jorge", "Alejandro", "Andrés", "Diego", "Santiago",
                "María", "Ana", "Carmen", "Laura", "Daniela", "Valentina", "Camila", "Paola", "Lucía", "Gabriela",
            ],
            Culture::Indonesian => &[
                "Budi", "Agus", "Dewi", "Sri", "Putri", "Rina", "Wahyu", "Eko", "Siti", "Nur", "Andi", "Rudi", "Yuni",
                "Indah", "Fitri",
            ],
            Culture::Indian => &[
                "Rahul", "Amit", "Sanjay", "Vikram", "Arjun", "Priya", "Anjali", "Sunita", "Deepa", "Kavita", "Ravi",
                "Suresh", "Meena", "Pooja", "Anil",
            ],
            Culture::WestAfrican => &[
                "Kwame", "Kofi", "Emeka", "Chinedu", "Oluwaseun", "Ibrahim", "Yaw", "Ama", "Adaeze", "Ngozi", "Fatou",
                "Aminata", "Moussa", "Chioma", "Abena",
            ],
            Culture::Khmer => &[
                "Sokha", "Dara", "Vanna", "Sophea", "Chenda", "Rithy", "Bopha", "Sothea", "Kosal", "Channary",
            ],
            Culture::Turkish => &[
                "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Fatma", "Ayşe", "Emine", "Zeynep", "Elif",
            ],
            Culture::Malay => &[
                "Ahmad", "Muhammad", "Nurul", "Siti", "Aisyah", "Hafiz", "Farah", "Aziz", "Zainab", "Hakim",
            ],
            Culture::English => &[
                "James", "John", "Robert", "Michael", "David", "Mary", "Patricia", "Jennifer", "Linda", "Susan",
                "Chris", "Sam", "Alex", "Taylor", "Jordan",
            ],
        }
    }

    pub fn surnames(self) -> &'static [&'static str] {
        match self {
            Culture::German => &[
                "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
                "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
                "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
                "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
                "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel",
                "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
                "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
                "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas",
            ],
            Culture::Filipino => &[
                "Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres", "Tomas", "Andrada",
                "Castillo", "Flores", "Villanueva", "Ramos", "Castro", "Rivera", "Aquino", "Navarro", "Salazar",
                "Mercado", "Dela Cruz", "De Leon", "Gonzales", "Lopez", "Del Rosario", "Pascual", "Aguilar", "Soriano",
                "Manalo", "Dizon", "Domingo", "Gutierrez", "Valdez", "Fernandez", "Lim", "Tan", "Sison", "Cabrera",
                "Magbanua", "Panganiban", "Macaraeg", "Dimaculangan", "Evangelista", "Santiago", "Buenaventura",
                "Alcantara", "Mangubat", "Lacson", "Tolentino", "Agustin",
            ],
            Culture::Thai => &[
                "Saetang", "Srisuk", "Wongsawat", "Chaiyaporn", "Sukprasert", "Thongdee", "Rattanakorn", "Boonmee",
                "Kaewmanee", "Phromma", "Sriwong", "Suwannarat", "Chanthawong", "Intharasuk", "Jaidee", "Nakprasit",
                "Petchsri", "Somboon", "Thammasat", "Yodkhao",
            ],
            Culture::Vietnamese => &[
                "Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do", "Ho", "Ngo", "Duong", "Ly",
                "Truong", "Dinh", "Mai", "Trinh",
            ],
            Culture::Romanian => &[
                "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stoica", "Stan", "Gheorghe", "Matei", "Ciobanu",
                "Rusu", "Munteanu", "Constantin", "Marin", "Ilie", "Florea", "Dinu", "Moldovan", "Lazar", "Dobre",
                "Barbu", "Nistor", "Cristea", "Toma",
            ],
            Culture::Hispanic => &[
                "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez",
                "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Jiménez", "Ruiz", "Vargas", "Castro",
                "Ortiz", "Rojas", "Medina", "Herrera", "Suárez",
            ],
            Culture::Indonesian => &[
                "Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Setiawan", "Nugroho", "Gunawan",
                "Susanto", "Hartono", "Wibowo", "Halim", "Lestari", "Rahmawati",
            ],
            Culture::Indian => &[
                "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Nair", "Iyer", "Das", "Mehta", "Joshi", "Rao",
                "Verma", "Chopra", "Pillai",
            ],
            Culture::WestAfrican => &[
                "Mensah", "Owusu", "Boateng", "Okafor", "Adeyemi", "Okonkwo", "Diallo", "Traoré", "Koné", "Asante",
                "Eze", "Bello", "Ouattara", "Appiah", "Nwosu",
            ],
            Culture::Khmer => &["Sok", "Chea", "Heng", "Kim", "Lim", "Meas", "Nhem", "Pich", "Sam", "Touch"],
            Culture::Turkish => &[
                "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir",
            ],
            Culture::Malay => &["Abdullah", "Ismail", "Hassan", "Ibrahim", "Yusof", "Rahman", "Osman", "Hamid", "Salleh", "Ali"],
            Culture::English => &[
                "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
                "Thomas", "Moore", "Martin", "Jackson", "White",
            ],
        }
    }
}

/// Remittance references used by families, partners and, as cover stories, by buyers
/// (§4.4 keyword list). Buyers draw only from this list.
pub const REMITTANCE_REFS: &[&str] = &[
    "school fees", "school uniform", "tuition", "education", "gift", "treat", "birthday", "allowance",
    "accommodation", "rent", "medical", "medicine", "hospital", "doctor", "family support", "help", "food",
    "milk", "invoice", "expenses", "fees",
];

/// References only families use (seasonal and personal).
pub const FAMILY_ONLY_REFS: &[&str] = &[
    "padala", "for mama", "for papa", "christmas", "merry christmas", "happy birthday", "monthly support",
    "support", "for the kids", "bills", "electricity", "pang tuition", "house repair", "emergency",
];

/// References on payments to friends at home.
pub const FRIEND_REFS: &[&str] = &[
    "Danke!", "Pizza", "Kino", "Geburtstagsgeschenk", "Konzerttickets", "Urlaub Anteil", "Essen gestern",
    "WG Einkauf", "Tankgeld", "Spieleabend", "Geschenk", "Rückzahlung",
];

/// References romance-scam victims are asked to use.
pub const ROMANCE_REFS: &[&str] = &[
    "medical", "hospital", "flight ticket", "customs fee", "visa", "help", "gift", "investment", "lawyer fees",
];

/// References on tips to performers and friends abroad.
pub const TIP_REFS: &[&str] = &["gift", "treat", "for you", "thanks", "birthday", "help"];

/// Month names for German standing-order references.
pub const MONTHS_DE: [&str; 12] = [
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember",
];

/// NGO name stems for child-sponsorship organisations (fictitious).
pub const NGO_NAMES: &[&str] = &[
    "Kinderhilfe Sonnenschein e.V.", "Hope for Children Foundation Inc.", "Bildung für Kinder e.V.",
    "Little Steps Learning Foundation", "Schulpaten International e.V.", "Bright Future Scholarship Fund",
    "Kinderzukunft Asien e.V.", "Bayanihan Children's Trust", "Lichtblick Patenschaften e.V.",
    "Pag-asa Education Foundation", "Brücke der Hoffnung e.V.", "Open Doors Child Sponsorship",
];
