//! CI/CD variables of a project, a group or the instance (`owner_kind` and `owner_id`, 0 for
//! the instance), with GitLab's rules for keys and masked values, and the variables a pipeline
//! of a project receives ([`for_pipeline`]): instance, then the project's groups from the root
//! down, then the project's own, lowest precedence first.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::ci_variables;
use crate::{groups, projects};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub const KIND_PROJECT: &str = "project";
pub const KIND_GROUP: &str = "group";
pub const KIND_INSTANCE: &str = "instance";

/// The only environment scope pipelines see (environments are not implemented).
pub const ALL_ENVIRONMENTS: &str = "*";

/// GitLab's limits: a key of at most 255 characters, a value of at most 10,000.
pub const MAX_KEY: usize = 255;
pub const MAX_VALUE: usize = 10_000;
pub const MAX_DESCRIPTION: usize = 255;
pub const MAX_ENVIRONMENT_SCOPE: usize = 255;
/// A masked value is at least this long.
pub const MIN_MASKED: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ci_variables)]
pub struct VariableRow {
    pub id: i64,
    pub owner_kind: String,
    pub owner_id: i64,
    pub key: String,
    pub value: String,
    /// `env_var` or `file`.
    pub variable_type: String,
    pub protected: bool,
    pub masked: bool,
    /// Masked and never shown again (GitLab's `masked_and_hidden`).
    pub hidden: bool,
    /// Not expanded (`$OTHER` stays literal).
    pub raw: bool,
    pub environment_scope: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Whose variables these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Project(i64),
    Group(i64),
    Instance,
}

impl Owner {
    pub fn kind(self) -> &'static str {
        match self {
            Owner::Project(_) => KIND_PROJECT,
            Owner::Group(_) => KIND_GROUP,
            Owner::Instance => KIND_INSTANCE,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Owner::Project(id) | Owner::Group(id) => id,
            Owner::Instance => 0,
        }
    }
}

/// `env_var` or `file`, as GitLab names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableType {
    EnvVar,
    File,
}

impl VariableType {
    pub fn as_str(self) -> &'static str {
        match self {
            VariableType::EnvVar => "env_var",
            VariableType::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<VariableType> {
        match text {
            "env_var" => Some(VariableType::EnvVar),
            "file" => Some(VariableType::File),
            _ => None,
        }
    }
}

/// A variable as it is to be stored (a new one, or an existing one with changes applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableSpec {
    pub key: String,
    pub value: String,
    pub variable_type: VariableType,
    pub protected: bool,
    pub masked: bool,
    pub hidden: bool,
    pub raw: bool,
    pub environment_scope: String,
    pub description: Option<String>,
}

impl VariableSpec {
    /// A plain `env_var` for all environments.
    pub fn new(key: &str, value: &str) -> VariableSpec {
        VariableSpec {
            key: key.to_string(),
            value: value.to_string(),
            variable_type: VariableType::EnvVar,
            protected: false,
            masked: false,
            hidden: false,
            raw: false,
            environment_scope: ALL_ENVIRONMENTS.to_string(),
            description: None,
        }
    }

    /// The stored variable as a spec, to apply changes to.
    pub fn of(row: &VariableRow) -> VariableSpec {
        VariableSpec {
            key: row.key.clone(),
            value: row.value.clone(),
            variable_type: VariableType::parse(&row.variable_type).unwrap_or(VariableType::EnvVar),
            protected: row.protected,
            masked: row.masked,
            hidden: row.hidden,
            raw: row.raw,
            environment_scope: row.environment_scope.clone(),
            description: row.description.clone(),
        }
    }

    /// GitLab's model validations, as `(field, problem)` pairs (empty: valid).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.key.is_empty() {
            out.push(("key", "can't be blank".to_string()));
        } else if self.key.chars().count() > MAX_KEY {
            out.push((
                "key",
                format!("is too long (maximum is {MAX_KEY} characters)"),
            ));
        } else if !valid_key(&self.key) {
            out.push((
                "key",
                "can contain only letters, digits and '_'.".to_string(),
            ));
        }
        if self.value.chars().count() > MAX_VALUE {
            out.push((
                "value",
                format!("is too long (maximum is {MAX_VALUE} characters)"),
            ));
        } else if self.masked && !maskable(&self.value) {
            out.push(("value", "is invalid".to_string()));
        }
        if self.hidden && !self.masked {
            out.push(("masked", "must be set for a hidden variable".to_string()));
        }
        if self.environment_scope.is_empty() {
            out.push(("environment_scope", "can't be blank".to_string()));
        } else if self.environment_scope.chars().count() > MAX_ENVIRONMENT_SCOPE {
            out.push((
                "environment_scope",
                format!("is too long (maximum is {MAX_ENVIRONMENT_SCOPE} characters)"),
            ));
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            out.push((
                "description",
                format!("is too long (maximum is {MAX_DESCRIPTION} characters)"),
            ));
        }
        out
    }
}

/// Letters, digits and `_` only.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Can this value be masked in job logs: one line of at least 8 characters from the Base64
/// alphabet plus `@ : . ~ -` (GitLab's rule; nothing a log could break up or expand).
pub fn maskable(value: &str) -> bool {
    value.len() >= MIN_MASKED
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/@:.~-".contains(&b))
}

/// An owner's variables, oldest first.
pub fn list(conn: &mut DbConnection, owner: Owner) -> Result<Vec<VariableRow>, StoreError> {
    Ok(ci_variables::table
        .filter(ci_variables::owner_kind.eq(owner.kind()))
        .filter(ci_variables::owner_id.eq(owner.id()))
        .order(ci_variables::id.asc())
        .select(VariableRow::as_select())
        .load(conn)?)
}

/// The variable `key` of an owner, in `environment_scope` when one is given. With no scope and
/// the key defined for several scopes, the request is ambiguous: GitLab's 409 message.
pub fn find(
    conn: &mut DbConnection,
    owner: Owner,
    key: &str,
    environment_scope: Option<&str>,
) -> Result<Option<VariableRow>, StoreError> {
    let mut q = ci_variables::table
        .filter(ci_variables::owner_kind.eq(owner.kind()))
        .filter(ci_variables::owner_id.eq(owner.id()))
        .filter(ci_variables::key.eq(key))
        .select(VariableRow::as_select())
        .order(ci_variables::id.asc())
        .into_boxed();
    if let Some(scope) = environment_scope {
        q = q.filter(ci_variables::environment_scope.eq(scope.to_string()));
    }
    let mut found: Vec<VariableRow> = q.limit(2).load(conn)?;
    if found.len() > 1 {
        return Err(StoreError::Conflict(
            "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'"
                .into(),
        ));
    }
    Ok(found.pop())
}

/// The message of a key already defined for the owner and scope (GitLab's wording).
pub fn taken_message(key: &str) -> String {
    format!("({key}) has already been taken")
}

fn exists(
    conn: &mut DbConnection,
    owner: Owner,
    key: &str,
    environment_scope: &str,
    except_id: Option<i64>,
) -> Result<bool, StoreError> {
    let n: i64 = ci_variables::table
        .filter(ci_variables::owner_kind.eq(owner.kind()))
        .filter(ci_variables::owner_id.eq(owner.id()))
        .filter(ci_variables::key.eq(key))
        .filter(ci_variables::environment_scope.eq(environment_scope))
        .filter(ci_variables::id.ne(except_id.unwrap_or(0)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Creates a variable. Invalid input is `Invalid` (call [`VariableSpec::problems`] first for
/// field-level messages); a key taken in the scope is `Conflict` with [`taken_message`].
pub fn create(
    conn: &mut DbConnection,
    owner: Owner,
    spec: &VariableSpec,
) -> Result<VariableRow, StoreError> {
    if let Some((field, problem)) = spec.problems().into_iter().next() {
        return Err(StoreError::Invalid(format!("{field} {problem}")));
    }
    write_transaction(conn, |conn| {
        if exists(conn, owner, &spec.key, &spec.environment_scope, None)? {
            return Err(StoreError::Conflict(taken_message(&spec.key)));
        }
        let id: i64 = diesel::insert_into(ci_variables::table)
            .values((
                ci_variables::owner_kind.eq(owner.kind()),
                ci_variables::owner_id.eq(owner.id()),
                ci_variables::key.eq(&spec.key),
                ci_variables::value.eq(&spec.value),
                ci_variables::variable_type.eq(spec.variable_type.as_str()),
                ci_variables::protected.eq(spec.protected),
                ci_variables::masked.eq(spec.masked),
                ci_variables::hidden.eq(spec.hidden),
                ci_variables::raw.eq(spec.raw),
                ci_variables::environment_scope.eq(&spec.environment_scope),
                ci_variables::description.eq(&spec.description),
                ci_variables::created_at.eq(crate::now()),
            ))
            .returning(ci_variables::id)
            .get_result(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(taken_message(&spec.key)),
                other => other,
            })?;
        get(conn, id)?.ok_or(StoreError::NotFound)
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<VariableRow>, StoreError> {
    Ok(ci_variables::table
        .find(id)
        .select(VariableRow::as_select())
        .first(conn)
        .optional()?)
}

/// Replaces variable `id` with `spec` (its owner stays). A hidden variable stays hidden.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    spec: &VariableSpec,
) -> Result<VariableRow, StoreError> {
    if let Some((field, problem)) = spec.problems().into_iter().next() {
        return Err(StoreError::Invalid(format!("{field} {problem}")));
    }
    write_transaction(conn, |conn| {
        let row = get(conn, id)?.ok_or(StoreError::NotFound)?;
        let owner = match row.owner_kind.as_str() {
            KIND_PROJECT => Owner::Project(row.owner_id),
            KIND_GROUP => Owner::Group(row.owner_id),
            _ => Owner::Instance,
        };
        if exists(conn, owner, &spec.key, &spec.environment_scope, Some(id))? {
            return Err(StoreError::Conflict(taken_message(&spec.key)));
        }
        diesel::update(ci_variables::table.find(id))
            .set((
                ci_variables::key.eq(&spec.key),
                ci_variables::value.eq(&spec.value),
                ci_variables::variable_type.eq(spec.variable_type.as_str()),
                ci_variables::protected.eq(spec.protected),
                ci_variables::masked.eq(spec.masked),
                ci_variables::hidden.eq(row.hidden || spec.hidden),
                ci_variables::raw.eq(spec.raw),
                ci_variables::environment_scope.eq(&spec.environment_scope),
                ci_variables::description.eq(&spec.description),
            ))
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(taken_message(&spec.key)),
                other => other,
            })?;
        get(conn, id)?.ok_or(StoreError::NotFound)
    })
}

/// Deletes variable `id`; false when it was not there.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(ci_variables::table.find(id)).execute(conn)? > 0)
}

/// The variables a pipeline of `project_id` gets, lowest precedence first: the instance's, then
/// those of the project's groups from the root group down to its own group, then the
/// project's. Protected variables only on a protected ref; only the `*` environment scope.
/// Within one owner, oldest first.
pub fn for_pipeline(
    conn: &mut DbConnection,
    project_id: i64,
    protected_ref: bool,
) -> Result<Vec<VariableRow>, StoreError> {
    let project = projects::find(conn, project_id)?.ok_or(StoreError::NotFound)?;
    // Nearest first; the root ends the chain.
    let chain = match project.group_id {
        Some(g) => groups::self_and_ancestors(conn, g)?,
        None => Vec::new(),
    };
    let mut q = ci_variables::table
        .filter(ci_variables::environment_scope.eq(ALL_ENVIRONMENTS))
        .filter(
            ci_variables::owner_kind
                .eq(KIND_INSTANCE)
                .and(ci_variables::owner_id.eq(0))
                .or(ci_variables::owner_kind
                    .eq(KIND_GROUP)
                    .and(ci_variables::owner_id.eq_any(chain.clone())))
                .or(ci_variables::owner_kind
                    .eq(KIND_PROJECT)
                    .and(ci_variables::owner_id.eq(project_id))),
        )
        .select(VariableRow::as_select())
        .into_boxed();
    if !protected_ref {
        q = q.filter(ci_variables::protected.eq(false));
    }
    let mut rows: Vec<VariableRow> = q.load(conn)?;
    let rank = |v: &VariableRow| -> usize {
        match v.owner_kind.as_str() {
            KIND_INSTANCE => 0,
            KIND_GROUP => {
                // The root group ranks 1, its project's own group highest among groups.
                let depth_from_nearest = chain.iter().position(|g| *g == v.owner_id).unwrap_or(0);
                1 + (chain.len() - 1 - depth_from_nearest)
            }
            _ => 1 + chain.len(),
        }
    };
    rows.sort_by_key(|v| (rank(v), v.id));
    Ok(rows)
}

#[cfg(test)]
pub(crate) mod tests {
    //! On a real database: SQLite always, PostgreSQL too when `TINFORGE_TEST_DATABASE_URL` is
    //! set. The fixtures are shared with the job token scope's tests.

    use super::*;
    use crate::connection::DatabaseUrl;
    use crate::groups::{GroupRow, NewGroup};
    use crate::projects::{Namespace, NewProject, ProjectRow};
    use crate::users::{NewUser, User};
    use crate::{Store, users};
    use diesel::RunQueryDsl;
    use tinforge_authz::Visibility;

    /// Runs `scenario` on a fresh SQLite database, and on a fresh PostgreSQL one when asked.
    pub(crate) fn on_every_backend(scenario: impl Fn(&mut DbConnection)) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let file = std::env::temp_dir().join(format!(
            "tinforge-ci-store-{}-{stamp}.sqlite3",
            std::process::id()
        ));
        {
            let store = Store::open(&DatabaseUrl::Sqlite(file.clone()), 1).unwrap();
            scenario(&mut store.conn().unwrap());
        }
        let _ = std::fs::remove_file(&file);
        if let Ok(base) = std::env::var("TINFORGE_TEST_DATABASE_URL")
            && !base.is_empty()
        {
            let name = format!(
                "tf_ci_store_{}_{}",
                std::process::id(),
                stamp % 1_000_000_000
            );
            let mut admin = diesel::PgConnection::establish(&base).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            let (head, _) = base.rsplit_once('/').unwrap();
            {
                let store =
                    Store::open(&DatabaseUrl::Postgres(format!("{head}/{name}")), 1).unwrap();
                scenario(&mut store.conn().unwrap());
            }
            diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .unwrap();
        }
    }

    pub(crate) fn user(conn: &mut DbConnection, name: &str) -> User {
        let email = format!("{name}@example.com");
        users::create(
            conn,
            &NewUser {
                username: name,
                email: &email,
                name,
                password: "password123",
                is_admin: false,
            },
        )
        .unwrap()
    }

    pub(crate) fn group(
        conn: &mut DbConnection,
        path: &str,
        parent: Option<&GroupRow>,
        owner: &User,
    ) -> GroupRow {
        groups::create(
            conn,
            &NewGroup {
                name: path,
                path,
                description: "",
                visibility: Visibility::Private,
                parent,
                owner_id: Some(owner.id),
            },
        )
        .unwrap()
    }

    pub(crate) fn project(
        conn: &mut DbConnection,
        path: &str,
        namespace: Namespace<'_>,
        creator: &User,
    ) -> ProjectRow {
        projects::create(
            conn,
            &NewProject {
                namespace,
                name: path,
                path,
                description: "",
                visibility: Visibility::Private,
                default_branch: None,
                merge_method: None,
                creator_id: creator.id,
            },
        )
        .unwrap()
    }

    fn set(conn: &mut DbConnection, owner: Owner, key: &str, value: &str, protected: bool) {
        let mut spec = VariableSpec::new(key, value);
        spec.protected = protected;
        create(conn, owner, &spec).unwrap();
    }

    #[test]
    fn pipelines_get_instance_then_groups_from_the_root_then_the_project() {
        on_every_backend(|conn| {
            let alice = user(conn, "alice");
            let root = group(conn, "acme", None, &alice);
            let sub = group(conn, "tools", Some(&root), &alice);
            let other = group(conn, "other", None, &alice);
            let p = project(conn, "anvil", Namespace::Group(&sub), &alice);
            let personal = project(
                conn,
                "mine",
                Namespace::User {
                    id: alice.id,
                    username: &alice.username,
                },
                &alice,
            );
            // Created in an order unlike the precedence.
            set(conn, Owner::Project(p.id), "WHO", "project", false);
            set(conn, Owner::Group(sub.id), "WHO", "sub", false);
            set(conn, Owner::Instance, "WHO", "instance", false);
            set(conn, Owner::Group(root.id), "WHO", "root", false);
            set(conn, Owner::Group(other.id), "WHO", "unrelated", false);
            set(conn, Owner::Group(root.id), "DEPLOY_KEY", "secret", true);
            set(conn, Owner::Project(personal.id), "WHO", "personal", false);
            let mut scoped = VariableSpec::new("WHO", "production only");
            scoped.environment_scope = "production".into();
            create(conn, Owner::Project(p.id), &scoped).unwrap();

            let values = |rows: Vec<VariableRow>| -> Vec<(String, String)> {
                rows.into_iter().map(|v| (v.key, v.value)).collect()
            };
            let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
            assert_eq!(
                values(for_pipeline(conn, p.id, false).unwrap()),
                [
                    pair("WHO", "instance"),
                    pair("WHO", "root"),
                    pair("WHO", "sub"),
                    pair("WHO", "project"),
                ]
            );
            assert_eq!(
                values(for_pipeline(conn, p.id, true).unwrap()),
                [
                    pair("WHO", "instance"),
                    pair("WHO", "root"),
                    pair("DEPLOY_KEY", "secret"),
                    pair("WHO", "sub"),
                    pair("WHO", "project"),
                ]
            );
            assert_eq!(
                values(for_pipeline(conn, personal.id, true).unwrap()),
                [pair("WHO", "instance"), pair("WHO", "personal")]
            );
            assert!(matches!(
                for_pipeline(conn, 9_999, false),
                Err(StoreError::NotFound)
            ));

            // Keys are unique per owner and scope.
            let dup = create(
                conn,
                Owner::Group(sub.id),
                &VariableSpec::new("WHO", "again"),
            );
            assert!(
                matches!(dup, Err(StoreError::Conflict(m)) if m == "(WHO) has already been taken")
            );
            let found = find(conn, Owner::Project(p.id), "WHO", None);
            assert!(matches!(found, Err(StoreError::Conflict(_))));
            let star = find(conn, Owner::Project(p.id), "WHO", Some("*"))
                .unwrap()
                .unwrap();
            assert_eq!(star.value, "project");
        });
    }

    #[test]
    fn masking_rules() {
        assert!(maskable("abcdEFGH1234"));
        assert!(maskable("a+b/c=d@e:f.g~h-i_j"));
        assert!(!maskable("short"));
        assert!(!maskable("has a space"));
        assert!(!maskable("line\nbreak!"));
        assert!(!maskable("dollar$sign"));
        assert!(valid_key("CI_SECRET_2"));
        assert!(!valid_key("bad-key"));
        assert!(!valid_key(""));
        let mut hidden = VariableSpec::new("K", "abcdefgh");
        hidden.hidden = true;
        assert_eq!(hidden.problems()[0].0, "masked");
        hidden.masked = true;
        assert!(hidden.problems().is_empty());
    }
}
