//! Random templates from a fixed seed: every construct of the grammar with the builtin
//! functions, Helm-like data, the three missingkey modes, and a share of mutated texts (a
//! character dropped, doubled or replaced) for parse errors.

use super::{default_data, Case};

/// splitmix64: small, seedable, the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const FIELDS: &[&str] = &[
    ".name",
    ".replicas",
    ".ratio",
    ".big",
    ".bigger",
    ".tiny",
    ".neg",
    ".zero",
    ".empty",
    ".yes",
    ".no",
    ".nothing",
    ".list",
    ".nums",
    ".mixed",
    ".emptylist",
    ".emptymap",
    ".html",
    ".image",
    ".image.tag",
    ".image.repository",
    ".nested.a.b.c",
    ".nested.n",
    ".labels",
    ".labels.app",
    ".items",
    ".missing",
    ".missing.x",
    ".nested.n.x",
    ".str5",
    ".unicode",
    ".image.nope",
    ".name.x",
    "$",
    "$.name",
    "$.list",
    ".",
];

/// Fields that exist and rarely make errors, preferred so most cases render.
const SAFE_FIELDS: &[&str] = &[
    ".name",
    ".replicas",
    ".ratio",
    ".big",
    ".list",
    ".labels",
    ".image.tag",
    ".yes",
    ".empty",
    ".nums",
    ".items",
    ".zero",
    ".str5",
    "$.name",
    ".",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "1.5",
    "2.0",
    "1e6",
    "0x10",
    "'a'",
    "\"\"",
    "\"x\"",
    "\"web\"",
    "\"a b\"",
    "`raw`",
    "true",
    "false",
    "nil",
    "3.0",
    "0.5",
    "\"app\"",
    "\"%v\"",
    "1e21",
    "1234567.0",
];

const FUNCS: &[(&str, usize, usize)] = &[
    ("and", 1, 3),
    ("or", 1, 3),
    ("not", 1, 1),
    ("eq", 2, 3),
    ("ne", 2, 2),
    ("lt", 2, 2),
    ("le", 2, 2),
    ("gt", 2, 2),
    ("ge", 2, 2),
    ("index", 1, 3),
    ("slice", 1, 3),
    ("len", 1, 1),
    ("print", 0, 3),
    ("println", 0, 2),
    ("printf", 1, 3),
    ("html", 1, 2),
    ("js", 1, 2),
    ("urlquery", 1, 2),
];

const FORMATS: &[&str] = &[
    "\"%v\"",
    "\"%d\"",
    "\"%s-%s\"",
    "\"%q\"",
    "\"%5.2f\"",
    "\"%x\"",
    "\"%T\"",
    "\"%t\"",
    "\"%g|%e\"",
    "\"%-4v|\"",
    "\"%03d\"",
    "\"%%\"",
];

const TEXTS: &[&str] = &[
    "a", " ", "\n", "  x  ", "\n  ", "-", "é", "\t", "}", "{", "line\n",
];

struct Gen {
    rng: Rng,
    vars: Vec<String>,
    depth: usize,
    in_range: bool,
    defines: Vec<String>,
}

impl Gen {
    fn operand(&mut self) -> String {
        match self.rng.below(10) {
            0..=1 => self.rng.pick(FIELDS).to_string(),
            2..=3 => self.rng.pick(SAFE_FIELDS).to_string(),
            4..=5 => self.rng.pick(LITERALS).to_string(),
            6 if !self.vars.is_empty() => {
                let v = self.vars[self.rng.below(self.vars.len())].clone();
                if self.rng.chance(20) {
                    format!("{v}.name")
                } else {
                    v
                }
            }
            7 if self.depth < 3 => {
                self.depth += 1;
                let p = self.pipeline(false);
                self.depth -= 1;
                if self.rng.chance(15) {
                    format!("({p}).name")
                } else {
                    format!("({p})")
                }
            }
            _ => self.rng.pick(FIELDS).to_string(),
        }
    }

    fn command(&mut self, first: bool) -> String {
        if !first || self.rng.chance(55) {
            let (name, min, max) = FUNCS[self.rng.below(FUNCS.len())];
            let n = min + self.rng.below(max - min + 1);
            let mut s = name.to_string();
            for i in 0..n {
                s.push(' ');
                if name == "printf" && i == 0 {
                    s.push_str(self.rng.pick(FORMATS));
                } else {
                    s.push_str(&self.operand());
                }
            }
            s
        } else {
            self.operand()
        }
    }

    fn pipeline(&mut self, allow_decl: bool) -> String {
        let mut s = String::new();
        if allow_decl && self.rng.chance(15) {
            if !self.vars.is_empty() && self.rng.chance(30) {
                let v = self.vars[self.rng.below(self.vars.len())].clone();
                if v != "$" {
                    s.push_str(&format!("{v} = "));
                }
            } else {
                let v = format!("$v{}", self.vars.len());
                s.push_str(&format!("{v} := "));
                self.vars.push(v);
            }
        }
        let n = 1 + self.rng.below(if self.depth > 1 { 1 } else { 3 });
        for i in 0..n {
            if i > 0 {
                s.push_str(" | ");
            }
            s.push_str(&self.command(i == 0));
        }
        s
    }

    fn open(&mut self) -> String {
        if self.rng.chance(15) {
            "{{- ".into()
        } else {
            "{{ ".into()
        }
    }

    fn close(&mut self) -> String {
        if self.rng.chance(15) {
            " -}}".into()
        } else {
            " }}".into()
        }
    }

    fn body(&mut self, pieces: usize) -> String {
        let mut s = String::new();
        for _ in 0..pieces {
            s.push_str(&self.piece());
        }
        s
    }

    fn piece(&mut self) -> String {
        let o = self.open();
        let c = self.close();
        match self.rng.below(14) {
            0..=1 => self.rng.pick(TEXTS).to_string(),
            2..=5 => {
                let p = self.pipeline(true);
                format!("{o}{p}{c}")
            }
            6..=8 if self.depth < 3 => {
                let kw = self.rng.pick(&["if", "with", "range"]);
                self.depth += 1;
                let mark = self.vars.len();
                let was_range = self.in_range;
                let head = if kw == "range" && self.rng.chance(40) {
                    let a = format!("$k{}", self.vars.len());
                    let b = format!("$e{}", self.vars.len());
                    self.vars.push(a.clone());
                    self.vars.push(b.clone());
                    let src = if self.rng.chance(20) {
                        self.rng.pick(&["3", "0", "2"]).to_string()
                    } else {
                        self.operand()
                    };
                    if self.rng.chance(50) {
                        format!("{b} := {src}")
                    } else {
                        format!("{a}, {b} := {src}")
                    }
                } else {
                    self.pipeline(true)
                };
                if kw == "range" {
                    self.in_range = true;
                }
                let n = 1 + self.rng.below(3);
                let inner = self.body(n);
                self.in_range = was_range;
                let mut s = format!("{o}{kw} {head}{c}{inner}");
                if self.rng.chance(40) {
                    let n = self.rng.below(2) + 1;
                    if kw != "range" && self.rng.chance(30) {
                        let cond = self.pipeline(false);
                        let inner = self.body(n);
                        s.push_str(&format!("{{{{ else {kw} {cond} }}}}{inner}"));
                    } else {
                        let inner = self.body(n);
                        s.push_str(&format!("{{{{ else }}}}{inner}"));
                    }
                }
                s.push_str("{{ end }}");
                self.vars.truncate(mark);
                self.depth -= 1;
                s
            }
            9 if self.in_range => self
                .rng
                .pick(&["{{ break }}", "{{ continue }}"])
                .to_string(),
            10 => format!("{o}/* c */{c}"),
            11 if self.depth == 0 && self.defines.len() < 2 => {
                // Defined after its body: a template calls only earlier ones, so no cycle
                // (Go's depth limit of 100000 is beyond a Rust stack; ferry stops at 1000).
                let name = format!("d{}", self.defines.len());
                let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
                self.depth += 1;
                let inner = self.body(2);
                self.depth -= 1;
                self.vars = saved;
                self.defines.push(name.clone());
                format!("{{{{ define \"{name}\" }}}}{inner}{{{{ end }}}}")
            }
            12 if !self.defines.is_empty() => {
                let name = self.defines[self.rng.below(self.defines.len())].clone();
                let arg = self.operand();
                format!("{{{{ template \"{name}\" {arg} }}}}")
            }
            _ => {
                let f = self.rng.pick(FIELDS);
                format!("{o}{f}{c}")
            }
        }
    }
}

fn mutate(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return s.to_string();
    }
    let i = rng.below(chars.len());
    let mut out: Vec<char> = chars.clone();
    match rng.below(3) {
        0 => {
            out.remove(i);
        }
        1 => out.insert(i, chars[i]),
        _ => {
            let c = [
                '{', '}', '(', ')', '"', '|', '$', '.', ' ', '-', '\'', '`', '\n', ',',
            ];
            out[i] = c[rng.below(c.len())];
        }
    }
    out.into_iter().collect()
}

pub fn cases(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let data = default_data();
    (0..n)
        .map(|i| {
            let mut g = Gen {
                rng: Rng::new(rng.next()),
                vars: vec!["$".into()],
                depth: 0,
                in_range: false,
                defines: Vec::new(),
            };
            let pieces = 1 + g.rng.below(5);
            let mut text = g.body(pieces);
            if rng.chance(12) {
                text = mutate(&mut rng, &text);
            }
            let missing = ["default", "zero", "zero", "error"][rng.below(4)];
            Case {
                name: format!("random-{seed}-{i}"),
                text,
                data: data.clone(),
                missing,
            }
        })
        .collect()
}
