//! An ordered list of CI variables where setting a name again replaces its value in place
//! (file order is kept; the later value wins), in constant time per set.

use std::collections::HashMap;

/// Variables in first-definition order, later values winning.
#[derive(Debug, Clone, Default)]
pub(crate) struct VariableList {
    items: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl VariableList {
    pub(crate) fn new() -> VariableList {
        VariableList::default()
    }

    /// Sets `name` to `value`, keeping the position of an earlier definition.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        match self.index.get(name) {
            Some(&position) => {
                if let Some(slot) = self.items.get_mut(position) {
                    slot.1 = value.to_string();
                }
            }
            None => {
                self.index.insert(name.to_string(), self.items.len());
                self.items.push((name.to_string(), value.to_string()));
            }
        }
    }

    /// Sets every pair of `pairs`, in order.
    pub(crate) fn extend<'a>(&mut self, pairs: impl IntoIterator<Item = &'a (String, String)>) {
        for (name, value) in pairs {
            self.set(name, value);
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.index
            .get(name)
            .and_then(|&position| self.items.get(position))
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn into_vec(self) -> Vec<(String, String)> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_win_in_place() {
        let mut list = VariableList::new();
        list.set("A", "1");
        list.set("B", "2");
        list.set("A", "3");
        assert_eq!(list.get("A"), Some("3"));
        assert_eq!(
            list.into_vec(),
            vec![("A".into(), "3".into()), ("B".into(), "2".into())]
        );
    }
}
