//! Reference data compiled in, so no request pays to build it at run time:
//! - ISTAT's province and comuni (`infra/istat/*.tsv`) as sorted static tables, with the
//!   folded spellings a comune may be written in;
//! - libphonenumber's metadata (`infra/phone/PhoneNumberMetadata.xml`, the file the
//!   `phonenumber` crate ships) split by country calling code, so parsing a number decodes
//!   the rules of the countries it can belong to, not those of all 250 regions;
//! - the patterns of Italy's calling code (Italy and Vatican City) as serialized DFAs, so an
//!   Italian number is checked without compiling a regex at run time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/text.rs"]
mod text;

const ISTAT: &str = "../../infra/istat";
const PHONE_METADATA: &str = "../../infra/phone/PhoneNumberMetadata.xml";

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    istat(&out);
    phone_metadata(&out);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/text.rs");
}

fn rows(path: &str) -> Vec<Vec<String>> {
    println!("cargo:rerun-if-changed={path}");
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Names as (start, length) in one text: tables of integers need no relocation when the
/// binary loads (a table of `&str` costs 40 bytes of pointer and relocation each: 1.5 MB).
#[derive(Default)]
struct Text(String, std::collections::HashMap<String, usize>);

impl Text {
    fn span(&mut self, s: &str) -> String {
        let start = *self.1.entry(s.to_owned()).or_insert_with(|| {
            self.0.push_str(s);
            self.0.len() - s.len()
        });
        format!("Span({start}, {})", s.len())
    }
}

fn istat(out: &Path) {
    let mut province = rows(&format!("{ISTAT}/province.tsv"));
    province.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut comuni = rows(&format!("{ISTAT}/comuni.tsv"));
    // Grouped by sigla (stable: ISTAT's order within a provincia).
    comuni.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut text = Text::default();
    let mut code = String::from("/// (sigla, name), sorted by sigla.\n");
    code.push_str("pub(super) static PROVINCE: &[(Span, Span)] = &[\n");
    for p in &province {
        let (sigla, name) = (text.span(&p[0]), text.span(&p[1]));
        writeln!(code, "    ({sigla}, {name}),").unwrap();
    }
    code.push_str("];\n/// (sigla, official name, its folded spellings in FOLDED: first, count), grouped by sigla in sorted order.\n");
    code.push_str("pub(super) static COMUNI: &[(Span, Span, u32, u8)] = &[\n");
    let mut folded_spans = Vec::new();
    for c in &comuni {
        // "Bolzano/Bozen" may be written either way, or whole.
        let mut folded: Vec<String> = c[2].split('/').map(text::fold).collect();
        folded.push(text::fold(&c[1]));
        folded.push(text::fold(&c[2]));
        folded.sort();
        folded.dedup();
        let first = folded_spans.len();
        for f in &folded {
            folded_spans.push(text.span(f));
        }
        let (sigla, official) = (text.span(&c[0]), text.span(&c[1]));
        writeln!(
            code,
            "    ({sigla}, {official}, {first}, {}),",
            folded.len()
        )
        .unwrap();
    }
    code.push_str(
        "];\n/// The folded spellings of the comuni.\npub(super) static FOLDED: &[Span] = &[\n",
    );
    for f in &folded_spans {
        writeln!(code, "    {f},").unwrap();
    }
    writeln!(
        code,
        "];\n/// Every name above, once.\npub(super) static TEXT: &str = {:?};",
        text.0
    )
    .unwrap();
    std::fs::write(out.join("istat.rs"), code).unwrap();
}

fn phone_metadata(out: &Path) {
    println!("cargo:rerun-if-changed={PHONE_METADATA}");
    let xml =
        std::fs::read_to_string(PHONE_METADATA).unwrap_or_else(|e| panic!("{PHONE_METADATA}: {e}"));
    // `\d` is every script's digits to the regex crate: each pattern's automaton then holds
    // hundreds of UTF-8 ranges, and compiling Italy's took ~4 ms on a number's first check.
    // The crate only ever matches these patterns against ASCII digits (the national number,
    // and input that `contact.rs` has already limited to ASCII), where `[0-9]` is the same.
    // `\d` is the only class escape the file uses, and only in patterns.
    let xml = xml.replace(r"\d", "[0-9]");
    let regions =
        phonenumber::metadata::loader::load(xml.as_bytes()).expect("libphonenumber metadata");
    let mut by_code: BTreeMap<u16, Vec<phonenumber::metadata::loader::Metadata>> = BTreeMap::new();
    for mut region in regions {
        // Only what parsing and validation read: the formatting rules (E.164 is written
        // without them), the example numbers and the descriptors `number_type` never consults
        // are dropped, so a first parse does not check their ~60 patterns for Italy alone.
        region.formats.clear();
        region.international_formats.clear();
        for unused in [
            &mut region.emergency,
            &mut region.short_code,
            &mut region.standard_rate,
            &mut region.carrier,
            &mut region.no_international,
        ] {
            *unused = None;
        }
        for used in [
            &mut region.general,
            &mut region.fixed_line,
            &mut region.mobile,
            &mut region.toll_free,
            &mut region.premium_rate,
            &mut region.shared_cost,
            &mut region.personal_number,
            &mut region.voip,
            &mut region.pager,
            &mut region.uan,
            &mut region.voicemail,
        ]
        .into_iter()
        .flatten()
        {
            used.example = None;
        }
        let code = region
            .country_code
            .expect("every region has a calling code");
        by_code.entry(code).or_default().push(region);
    }
    let mut table = String::from(
        "/// (calling code, postcard-encoded `loader::Metadata` of its regions), sorted by code.\n\
         pub(super) static REGIONS: &[(u16, &[u8])] = &[\n",
    );
    italian_automata(out, &by_code[&39]);
    for (code, regions) in &by_code {
        let bytes = postcard::to_allocvec(regions).expect("metadata encodes");
        let name = format!("phone-{code}.bin");
        std::fs::write(out.join(&name), bytes).unwrap();
        writeln!(
            table,
            "    ({code}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\"))),"
        )
        .unwrap();
    }
    table.push_str("];\n");
    std::fs::write(out.join("phone_regions.rs"), table).unwrap();
}

/// One anchored DFA per pattern that `number_type` and `source_for` read for calling code 39,
/// written for the target's byte order, and the Rust tables that point at them (read by
/// `src/values/italian_phone.rs`).
fn italian_automata(out: &Path, regions: &[phonenumber::metadata::loader::Metadata]) {
    use phonenumber::metadata::loader::Descriptor;
    // The shortcut in italian_phone.rs reads a number written without a country prefix as
    // "+39 " and the rest: true only while Italy strips nothing from a national number.
    let italy = &regions[0];
    assert_eq!(
        italy.id.as_deref(),
        Some("IT"),
        "Italy is the first region of +39"
    );
    assert!(
        italy.national_prefix.is_none() && italy.national_prefix_for_parsing.is_none(),
        "Italy has gained a national prefix: the shortcut in italian_phone.rs no longer holds"
    );
    let mut automata = Automata {
        out,
        count: 0,
        big_endian: std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big"),
    };
    let mut code = String::from(
        "/// The regions of calling code 39 in the order libphonenumber's file lists them.\n\
         pub(super) static REGIONS: &[Region] = &[\n",
    );
    for r in regions {
        let mut pattern = |d: &Option<Descriptor>| -> String {
            match d
                .as_ref()
                .and_then(|d| Some((d.national_number.as_ref()?, d)))
            {
                Some((re, d)) => format!(
                    "Some(Pattern {{ dfa: {}, lengths: &{:?} }})",
                    automata.write(re),
                    d.possible_length
                ),
                None => "None".to_owned(),
            }
        };
        let general = pattern(&r.general);
        let special = [
            ("PremiumRate", &r.premium_rate),
            ("TollFree", &r.toll_free),
            ("SharedCost", &r.shared_cost),
            ("Voip", &r.voip),
            ("PersonalNumber", &r.personal_number),
            ("Pager", &r.pager),
            ("Uan", &r.uan),
            ("Voicemail", &r.voicemail),
        ]
        .map(|(kind, d)| format!("(Type::{kind}, {})", pattern(d)))
        .join(",\n            ");
        let (fixed_line, mobile) = (pattern(&r.fixed_line), pattern(&r.mobile));
        let leading_digits = match &r.leading_digits {
            Some(re) => format!("Some({})", automata.write(re)),
            None => "None".to_owned(),
        };
        let text = |d: &Option<Descriptor>| d.as_ref().and_then(|d| d.national_number.clone());
        writeln!(
            code,
            "    Region {{\n        id: {id:?},\n        leading_digits: {leading_digits},\n        \
             general: {general},\n        special: [\n            {special},\n        ],\n        \
             fixed_line: {fixed_line},\n        mobile: {mobile},\n        \
             fixed_line_is_mobile: {same},\n    }},",
            id = r.id.as_deref().unwrap_or_default(),
            same = text(&r.fixed_line) == text(&r.mobile),
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("phone_39.rs"), code).unwrap();
}

struct Automata<'a> {
    out: &'a Path,
    count: usize,
    big_endian: bool,
}

impl Automata<'_> {
    /// Compiles `pattern` as the crate does (whitespace ignored) into a DFA anchored at the
    /// start, writes it to OUT_DIR and returns the Rust expression that includes it aligned.
    /// Over bytes: every pattern is made of ASCII digits, and so is every number it meets.
    fn write(&mut self, pattern: &str) -> String {
        use regex_automata::dfa::{StartKind, dense};
        let built = dense::Builder::new()
            .configure(
                dense::DFA::config()
                    .start_kind(StartKind::Anchored)
                    .minimize(true),
            )
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .ignore_whitespace(true)
                    .unicode(false)
                    .utf8(false),
            )
            .build(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let (bytes, padding) = if self.big_endian {
            built.to_bytes_big_endian()
        } else {
            built.to_bytes_little_endian()
        };
        let name = format!("phone-39-{}.dfa", self.count);
        self.count += 1;
        std::fs::write(self.out.join(&name), &bytes[padding..]).unwrap();
        format!(
            "&AlignAs {{ _align: [], bytes: *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\")) }}"
        )
    }
}
