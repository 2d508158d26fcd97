//! The tree walk sops does for encryption, decryption and the MAC: leaves in document order,
//! each with its key path (the AAD), a readable path for errors, and the comments above it.

use super::metadata::Rules;
use super::tree::{Branch, Item, Value};

/// What the walk knows about one leaf.
pub struct Leaf<'a> {
    /// The map keys from the root joined with `:` plus a trailing `:` (sops' AAD).
    pub aad: &'a str,
    /// A path for messages: `data.password`, `list[2].x`.
    pub display: &'a str,
    /// Whether the selectors say this leaf is (or is to be) encrypted.
    pub encrypted: bool,
    pub is_comment: bool,
    /// A comment between map entries (rather than a list item).
    pub in_map: bool,
}

struct Walker<'r, 'f, E> {
    rules: &'r Rules,
    path: Vec<String>,
    stack: Vec<Vec<String>>,
    f: &'f mut dyn FnMut(&mut Value, &Leaf<'_>) -> Result<(), E>,
}

/// Calls `f` on every leaf (scalars and comments; nulls are skipped, as sops skips them).
pub fn walk<E>(
    branch: &mut Branch,
    rules: &Rules,
    f: &mut dyn FnMut(&mut Value, &Leaf<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut w = Walker {
        rules,
        path: Vec::new(),
        stack: Vec::new(),
        f,
    };
    w.branch(branch, "")
}

fn join(display: &str, key: &str) -> String {
    if display.is_empty() {
        key.to_string()
    } else {
        format!("{display}.{key}")
    }
}

impl<E> Walker<'_, '_, E> {
    fn leaf(&mut self, v: &mut Value, display: &str) -> Result<(), E> {
        self.leaf_in(v, display, false)
    }

    fn leaf_in(&mut self, v: &mut Value, display: &str, in_map: bool) -> Result<(), E> {
        let is_comment = matches!(v, Value::Comment(_));
        let encrypted = self
            .rules
            .should_encrypt(&self.path, &self.stack, is_comment);
        let aad = if self.path.is_empty() {
            String::from(":")
        } else {
            format!("{}:", self.path.join(":"))
        };
        (self.f)(
            v,
            &Leaf {
                aad: &aad,
                display,
                encrypted,
                is_comment,
                in_map,
            },
        )
    }

    fn top(&mut self) -> &mut Vec<String> {
        self.stack
            .last_mut()
            .expect("a level is pushed before items are walked")
    }

    fn value(&mut self, v: &mut Value, display: &str) -> Result<(), E> {
        match v {
            Value::Null => Ok(()),
            Value::Map(b) => self.branch(b, display),
            Value::List(items) => self.list(items, display),
            _ => self.leaf(v, display),
        }
    }

    fn branch(&mut self, branch: &mut Branch, display: &str) -> Result<(), E> {
        self.stack.push(Vec::new());
        for item in branch.iter_mut() {
            match item {
                Item::Comment(c) => {
                    self.top().push(c.text.clone());
                    let mut v = Value::Comment(c.clone());
                    self.leaf_in(&mut v, display, true)?;
                    if let Value::Comment(new) = v {
                        *c = new;
                    }
                }
                Item::Entry(key, v) => {
                    let d = join(display, key);
                    self.path.push(key.clone());
                    let r = self.value(v, &d);
                    self.path.pop();
                    r?;
                    self.top().clear();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn list(&mut self, items: &mut [Value], display: &str) -> Result<(), E> {
        self.stack.push(Vec::new());
        for (i, v) in items.iter_mut().enumerate() {
            let is_comment = if let Value::Comment(c) = v {
                self.top().push(c.text.clone());
                true
            } else {
                false
            };
            self.value(v, &format!("{display}[{i}]"))?;
            if !is_comment {
                self.top().clear();
            }
        }
        self.stack.pop();
        Ok(())
    }
}
