//! Project labels: name, colour (`#RRGGBB`, `#RGB` or a CSS colour name, stored as hex) and an
//! optional description. Issues name labels; unknown names can be created on the fly with
//! [`DEFAULT_COLOR`], as GitLab does for callers who may manage labels.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::issues::{self, Viewer};
use crate::schema::{issue_labels, issues as issues_t, labels};
use diesel::prelude::*;
use std::collections::HashMap;

/// GitLab's colour for labels created without one.
pub const DEFAULT_COLOR: &str = "#6699cc";

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = labels)]
pub struct LabelRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl LabelRow {
    /// GitLab's `text_color`: dark text on light colours, white text on dark ones.
    pub fn text_color(&self) -> &'static str {
        text_color(&self.color)
    }
}

/// A label named by a path or parameter: numeric id, or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRef {
    Id(i64),
    Name(String),
}

impl LabelRef {
    /// An all-digit reference is an id, anything else a name (GitLab's `:label_id`).
    pub fn parse(reference: &str) -> LabelRef {
        match reference.parse::<i64>() {
            Ok(id) => LabelRef::Id(id),
            Err(_) => LabelRef::Name(reference.to_string()),
        }
    }
}

/// Checks a label name: present, at most 255 characters, no comma (lists are comma-separated).
pub fn validate_name(name: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("name is missing".into()));
    }
    if name.chars().count() > 255 {
        return Err(StoreError::Invalid(
            "name is too long (maximum is 255 characters)".into(),
        ));
    }
    if name.contains(',') {
        return Err(StoreError::Invalid("name can't contain commas".into()));
    }
    Ok(name.to_string())
}

/// `#RRGGBB` and `#RGB` (kept, lower-cased) or a CSS colour name (turned into its hex value).
/// Anything else is refused.
pub fn normalize_color(input: &str) -> Result<String, StoreError> {
    let c = input.trim();
    let invalid = || StoreError::Invalid(format!("color `{c}` must be a valid color code"));
    if let Some(hex) = c.strip_prefix('#') {
        if (hex.len() == 6 || hex.len() == 3) && hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Ok(format!("#{}", hex.to_ascii_lowercase()));
        }
        return Err(invalid());
    }
    let lower = c.to_ascii_lowercase();
    CSS_COLORS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, hex)| hex.to_string())
        .ok_or_else(invalid)
}

fn rgb(color: &str) -> Option<(u8, u8, u8)> {
    let hex = color.strip_prefix('#')?;
    let full: String = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_string(),
        _ => return None,
    };
    let byte = |i: usize| u8::from_str_radix(&full[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// Dark text (`#1F1E24`) on light backgrounds, white otherwise (YIQ brightness).
pub fn text_color(color: &str) -> &'static str {
    match rgb(color) {
        Some((r, g, b)) => {
            let brightness = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
            if brightness > 128 {
                "#1F1E24"
            } else {
                "#FFFFFF"
            }
        }
        None => "#FFFFFF",
    }
}

/// A project's labels, by name.
pub fn list(conn: &mut DbConnection, project_id: i64) -> Result<Vec<LabelRow>, StoreError> {
    Ok(labels::table
        .filter(labels::project_id.eq(project_id))
        .order((labels::name.asc(), labels::id.asc()))
        .select(LabelRow::as_select())
        .load(conn)?)
}

pub fn find(
    conn: &mut DbConnection,
    project_id: i64,
    reference: &LabelRef,
) -> Result<Option<LabelRow>, StoreError> {
    let q = labels::table
        .filter(labels::project_id.eq(project_id))
        .select(LabelRow::as_select())
        .into_boxed();
    let q = match reference {
        LabelRef::Id(id) => q.filter(labels::id.eq(*id)),
        LabelRef::Name(name) => q.filter(labels::name.eq(name.clone())),
    };
    Ok(q.first(conn).optional()?)
}

/// Creates a label; a taken name is a `Conflict("Label already exists")`.
pub fn create(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
    color: &str,
    description: Option<&str>,
) -> Result<LabelRow, StoreError> {
    let name = validate_name(name)?;
    let color = normalize_color(color)?;
    write_transaction(conn, |conn| {
        if find(conn, project_id, &LabelRef::Name(name.clone()))?.is_some() {
            return Err(StoreError::Conflict("Label already exists".into()));
        }
        insert(conn, project_id, &name, &color, description)
    })
}

fn insert(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
    color: &str,
    description: Option<&str>,
) -> Result<LabelRow, StoreError> {
    let now = crate::now();
    let id: i64 = diesel::insert_into(labels::table)
        .values((
            labels::project_id.eq(project_id),
            labels::name.eq(name),
            labels::color.eq(color),
            labels::description.eq(description),
            labels::created_at.eq(now),
            labels::updated_at.eq(now),
        ))
        .returning(labels::id)
        .get_result(conn)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict("Label already exists".into()),
            other => other,
        })?;
    Ok(labels::table
        .find(id)
        .select(LabelRow::as_select())
        .first(conn)?)
}

/// What a label update changes; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct LabelChanges {
    pub new_name: Option<String>,
    pub color: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}

impl LabelChanges {
    pub fn is_empty(&self) -> bool {
        self.new_name.is_none() && self.color.is_none() && self.description.is_none()
    }
}

/// Updates a label; renaming onto a taken name is a `Conflict`.
pub fn update(
    conn: &mut DbConnection,
    label: &LabelRow,
    changes: &LabelChanges,
) -> Result<LabelRow, StoreError> {
    let name = changes.new_name.as_deref().map(validate_name).transpose()?;
    let color = changes.color.as_deref().map(normalize_color).transpose()?;
    write_transaction(conn, |conn| {
        if let Some(n) = &name
            && *n != label.name
            && find(conn, label.project_id, &LabelRef::Name(n.clone()))?.is_some()
        {
            return Err(StoreError::Conflict("Label already exists".into()));
        }
        let description = match &changes.description {
            Some(d) => d.clone(),
            None => label.description.clone(),
        };
        diesel::update(labels::table.find(label.id))
            .set((
                labels::name.eq(name.as_deref().unwrap_or(&label.name)),
                labels::color.eq(color.as_deref().unwrap_or(&label.color)),
                labels::description.eq(description),
                labels::updated_at.eq(crate::now()),
            ))
            .execute(conn)?;
        Ok(labels::table
            .find(label.id)
            .select(LabelRow::as_select())
            .first(conn)?)
    })
}

/// Deletes a label; it disappears from every issue that had it.
pub fn delete(conn: &mut DbConnection, label_id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(issue_labels::table.filter(issue_labels::label_id.eq(label_id)))
            .execute(conn)?;
        match diesel::delete(labels::table.find(label_id)).execute(conn)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    })
}

/// The labels of `names` in a project, in the order given, duplicates removed. Unknown names are
/// created with [`DEFAULT_COLOR`] when `create_missing`, otherwise skipped. Call inside a
/// transaction.
pub fn find_or_create(
    conn: &mut DbConnection,
    project_id: i64,
    names: &[String],
    create_missing: bool,
) -> Result<Vec<LabelRow>, StoreError> {
    let mut wanted: Vec<String> = Vec::new();
    for n in names {
        let n = validate_name(n)?;
        if !wanted.contains(&n) {
            wanted.push(n);
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let existing: Vec<LabelRow> = labels::table
        .filter(labels::project_id.eq(project_id))
        .filter(labels::name.eq_any(&wanted))
        .select(LabelRow::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for name in wanted {
        match existing.iter().find(|l| l.name == name) {
            Some(l) => out.push(l.clone()),
            None if create_missing => {
                // In a savepoint: a concurrent request may create the same label first, which
                // is fine; then it is used as found.
                match conn.transaction(|c| insert(c, project_id, &name, DEFAULT_COLOR, None)) {
                    Ok(l) => out.push(l),
                    Err(StoreError::Conflict(_)) => {
                        out.extend(find(conn, project_id, &LabelRef::Name(name.clone()))?)
                    }
                    Err(e) => return Err(e),
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// The labels of each issue, by name.
pub fn for_issues(
    conn: &mut DbConnection,
    issue_ids: &[i64],
) -> Result<HashMap<i64, Vec<LabelRow>>, StoreError> {
    let mut out: HashMap<i64, Vec<LabelRow>> = HashMap::new();
    if issue_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, LabelRow)> = issue_labels::table
        .inner_join(labels::table)
        .filter(issue_labels::issue_id.eq_any(issue_ids))
        .order((labels::name.asc(), labels::id.asc()))
        .select((issue_labels::issue_id, LabelRow::as_select()))
        .load(conn)?;
    for (issue_id, label) in rows {
        out.entry(issue_id).or_default().push(label);
    }
    Ok(out)
}

/// Open and closed issues carrying each label, counting only issues `viewer` can see.
pub fn issue_counts(
    conn: &mut DbConnection,
    project_id: i64,
    label_ids: &[i64],
    viewer: &Viewer,
) -> Result<HashMap<i64, (i64, i64)>, StoreError> {
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    if label_ids.is_empty() {
        return Ok(out);
    }
    for label_id in label_ids {
        let carrying = || {
            issues_t::table
                .filter(issues_t::project_id.eq(project_id))
                .filter(issues::visible_to(viewer))
                .filter(
                    issues_t::id.eq_any(
                        issue_labels::table
                            .filter(issue_labels::label_id.eq(*label_id))
                            .select(issue_labels::issue_id),
                    ),
                )
        };
        let open: i64 = carrying()
            .filter(issues_t::state.ne(issues::CLOSED))
            .count()
            .get_result(conn)?;
        let closed: i64 = carrying()
            .filter(issues_t::state.eq(issues::CLOSED))
            .count()
            .get_result(conn)?;
        out.insert(*label_id, (open, closed));
    }
    Ok(out)
}

/// CSS colour names and their values.
const CSS_COLORS: &[(&str, &str)] = &[
    ("aliceblue", "#f0f8ff"),
    ("antiquewhite", "#faebd7"),
    ("aqua", "#00ffff"),
    ("aquamarine", "#7fffd4"),
    ("azure", "#f0ffff"),
    ("beige", "#f5f5dc"),
    ("bisque", "#ffe4c4"),
    ("black", "#000000"),
    ("blanchedalmond", "#ffebcd"),
    ("blue", "#0000ff"),
    ("blueviolet", "#8a2be2"),
    ("brown", "#a52a2a"),
    ("burlywood", "#deb887"),
    ("cadetblue", "#5f9ea0"),
    ("chartreuse", "#7fff00"),
    ("chocolate", "#d2691e"),
    ("coral", "#ff7f50"),
    ("cornflowerblue", "#6495ed"),
    ("cornsilk", "#fff8dc"),
    ("crimson", "#dc143c"),
    ("cyan", "#00ffff"),
    ("darkblue", "#00008b"),
    ("darkcyan", "#008b8b"),
    ("darkgoldenrod", "#b8860b"),
    ("darkgray", "#a9a9a9"),
    ("darkgreen", "#006400"),
    ("darkgrey", "#a9a9a9"),
    ("darkkhaki", "#bdb76b"),
    ("darkmagenta", "#8b008b"),
    ("darkolivegreen", "#556b2f"),
    ("darkorange", "#ff8c00"),
    ("darkorchid", "#9932cc"),
    ("darkred", "#8b0000"),
    ("darksalmon", "#e9967a"),
    ("darkseagreen", "#8fbc8f"),
    ("darkslateblue", "#483d8b"),
    ("darkslategray", "#2f4f4f"),
    ("darkslategrey", "#2f4f4f"),
    ("darkturquoise", "#00ced1"),
    ("darkviolet", "#9400d3"),
    ("deeppink", "#ff1493"),
    ("deepskyblue", "#00bfff"),
    ("dimgray", "#696969"),
    ("dimgrey", "#696969"),
    ("dodgerblue", "#1e90ff"),
    ("firebrick", "#b22222"),
    ("floralwhite", "#fffaf0"),
    ("forestgreen", "#228b22"),
    ("fuchsia", "#ff00ff"),
    ("gainsboro", "#dcdcdc"),
    ("ghostwhite", "#f8f8ff"),
    ("gold", "#ffd700"),
    ("goldenrod", "#daa520"),
    ("gray", "#808080"),
    ("green", "#008000"),
    ("greenyellow", "#adff2f"),
    ("grey", "#808080"),
    ("honeydew", "#f0fff0"),
    ("hotpink", "#ff69b4"),
    ("indianred", "#cd5c5c"),
    ("indigo", "#4b0082"),
    ("ivory", "#fffff0"),
    ("khaki", "#f0e68c"),
    ("lavender", "#e6e6fa"),
    ("lavenderblush", "#fff0f5"),
    ("lawngreen", "#7cfc00"),
    ("lemonchiffon", "#fffacd"),
    ("lightblue", "#add8e6"),
    ("lightcoral", "#f08080"),
    ("lightcyan", "#e0ffff"),
    ("lightgoldenrodyellow", "#fafad2"),
    ("lightgray", "#d3d3d3"),
    ("lightgreen", "#90ee90"),
    ("lightgrey", "#d3d3d3"),
    ("lightpink", "#ffb6c1"),
    ("lightsalmon", "#ffa07a"),
    ("lightseagreen", "#20b2aa"),
    ("lightskyblue", "#87cefa"),
    ("lightslategray", "#778899"),
    ("lightslategrey", "#778899"),
    ("lightsteelblue", "#b0c4de"),
    ("lightyellow", "#ffffe0"),
    ("lime", "#00ff00"),
    ("limegreen", "#32cd32"),
    ("linen", "#faf0e6"),
    ("magenta", "#ff00ff"),
    ("maroon", "#800000"),
    ("mediumaquamarine", "#66cdaa"),
    ("mediumblue", "#0000cd"),
    ("mediumorchid", "#ba55d3"),
    ("mediumpurple", "#9370db"),
    ("mediumseagreen", "#3cb371"),
    ("mediumslateblue", "#7b68ee"),
    ("mediumspringgreen", "#00fa9a"),
    ("mediumturquoise", "#48d1cc"),
    ("mediumvioletred", "#c71585"),
    ("midnightblue", "#191970"),
    ("mintcream", "#f5fffa"),
    ("mistyrose", "#ffe4e1"),
    ("moccasin", "#ffe4b5"),
    ("navajowhite", "#ffdead"),
    ("navy", "#000080"),
    ("oldlace", "#fdf5e6"),
    ("olive", "#808000"),
    ("olivedrab", "#6b8e23"),
    ("orange", "#ffa500"),
    ("orangered", "#ff4500"),
    ("orchid", "#da70d6"),
    ("palegoldenrod", "#eee8aa"),
    ("palegreen", "#98fb98"),
    ("paleturquoise", "#afeeee"),
    ("palevioletred", "#db7093"),
    ("papayawhip", "#ffefd5"),
    ("peachpuff", "#ffdab9"),
    ("peru", "#cd853f"),
    ("pink", "#ffc0cb"),
    ("plum", "#dda0dd"),
    ("powderblue", "#b0e0e6"),
    ("purple", "#800080"),
    ("rebeccapurple", "#663399"),
    ("red", "#ff0000"),
    ("rosybrown", "#bc8f8f"),
    ("royalblue", "#4169e1"),
    ("saddlebrown", "#8b4513"),
    ("salmon", "#fa8072"),
    ("sandybrown", "#f4a460"),
    ("seagreen", "#2e8b57"),
    ("seashell", "#fff5ee"),
    ("sienna", "#a0522d"),
    ("silver", "#c0c0c0"),
    ("skyblue", "#87ceeb"),
    ("slateblue", "#6a5acd"),
    ("slategray", "#708090"),
    ("slategrey", "#708090"),
    ("snow", "#fffafa"),
    ("springgreen", "#00ff7f"),
    ("steelblue", "#4682b4"),
    ("tan", "#d2b48c"),
    ("teal", "#008080"),
    ("thistle", "#d8bfd8"),
    ("tomato", "#ff6347"),
    ("turquoise", "#40e0d0"),
    ("violet", "#ee82ee"),
    ("wheat", "#f5deb3"),
    ("white", "#ffffff"),
    ("whitesmoke", "#f5f5f5"),
    ("yellow", "#ffff00"),
    ("yellowgreen", "#9acd32"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_or_css_names() {
        assert_eq!(normalize_color("#FFAABB").unwrap(), "#ffaabb");
        assert_eq!(normalize_color("#abc").unwrap(), "#abc");
        assert_eq!(normalize_color("Red").unwrap(), "#ff0000");
        assert_eq!(normalize_color(" rebeccapurple ").unwrap(), "#663399");
        for bad in ["", "#12345", "#GGGGGG", "reddish", "123456", "#1234567"] {
            assert!(normalize_color(bad).is_err(), "{bad}");
        }
        assert_eq!(text_color("#ffffff"), "#1F1E24");
        assert_eq!(text_color("#000000"), "#FFFFFF");
        assert_eq!(text_color("#336699"), "#FFFFFF");
        assert_eq!(text_color("#fc0"), "#1F1E24");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name("  bug ").unwrap(), "bug");
        assert!(validate_name(" ").is_err());
        assert!(validate_name("a,b").is_err());
        assert!(validate_name(&"x".repeat(256)).is_err());
    }
}
