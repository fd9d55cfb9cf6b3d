//! Users: accounts with argon2id passwords, an admin flag and a blocked state.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::users;
use crate::sql::lower;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub state: String,
    pub created_at: chrono::NaiveDateTime,
}

impl User {
    pub fn is_blocked(&self) -> bool {
        self.state == STATE_BLOCKED
    }
}

pub const STATE_ACTIVE: &str = "active";
pub const STATE_BLOCKED: &str = "blocked";

/// What it takes to create a user; the password is hashed here.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub is_admin: bool,
}

/// Field-level problems with a new user, GitLab-style (`{"username": ["is invalid"]}`).
pub fn validate(new: &NewUser<'_>) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let u = new.username;
    let valid_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if u.is_empty()
        || u.len() > 255
        || !valid_chars
        || u.starts_with(['-', '.'])
        || u.ends_with('.')
    {
        problems.push(("username", "is invalid".to_string()));
    }
    let e = new.email;
    if e.len() > 255
        || e.split_once('@')
            .is_none_or(|(l, d)| l.is_empty() || d.is_empty())
    {
        problems.push(("email", "is invalid".to_string()));
    }
    if new.name.trim().is_empty() || new.name.len() > 255 {
        problems.push(("name", "can't be blank".to_string()));
    }
    if new.password.chars().count() < 8 {
        problems.push((
            "password",
            "is too short (minimum is 8 characters)".to_string(),
        ));
    }
    problems
}

/// Creates a user; a taken username or email is a `Conflict` naming which.
pub fn create(conn: &mut DbConnection, new: &NewUser<'_>) -> Result<User, StoreError> {
    if let Some((field, msg)) = validate(new).into_iter().next() {
        return Err(StoreError::Invalid(format!("{field} {msg}")));
    }
    let hash = crate::password::hash(new.password);
    write_transaction(conn, |conn| {
        if find_by_username(conn, new.username)?.is_some() {
            return Err(StoreError::Conflict(
                "Username has already been taken".into(),
            ));
        }
        let email_taken = users::table
            .filter(users::email.eq(new.email))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if email_taken {
            return Err(StoreError::Conflict("Email has already been taken".into()));
        }
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(new.username),
                users::email.eq(new.email),
                users::name.eq(new.name),
                users::password_hash.eq(&hash),
                users::is_admin.eq(new.is_admin),
                users::state.eq(STATE_ACTIVE),
                users::created_at.eq(crate::now()),
            ))
            .returning(users::id)
            .get_result(conn)?;
        crate::namespaces::create_for_user(conn, id, new.username)?;
        find(conn, id)?.ok_or(StoreError::NotFound)
    })
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<User>, StoreError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<User>, StoreError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The user signing in with this username or email (either case-insensitive).
pub fn find_by_login(conn: &mut DbConnection, login: &str) -> Result<Option<User>, StoreError> {
    let login = login.trim().to_lowercase();
    Ok(users::table
        .filter(
            lower(users::username)
                .eq(login.clone())
                .or(lower(users::email).eq(login)),
        )
        .order(users::id.asc())
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// A numeric id or a username.
pub fn find_by_ref(conn: &mut DbConnection, reference: &str) -> Result<Option<User>, StoreError> {
    match reference.parse::<i64>() {
        Ok(id) => find(conn, id),
        Err(_) => find_by_username(conn, reference),
    }
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Filters of `GET /users`.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub username: Option<String>,
    pub search: Option<String>,
    pub state: Option<&'static str>,
}

/// One page of users (ordered by id) and the total matching.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<User>, i64), StoreError> {
    let query = || {
        let mut q = users::table.into_boxed();
        if let Some(u) = &filter.username {
            q = q.filter(users::username.eq(u.clone()));
        }
        if let Some(s) = &filter.search {
            let pattern = format!("%{}%", s.to_lowercase());
            q = q.filter(
                lower(users::username)
                    .like(pattern.clone())
                    .or(lower(users::name).like(pattern.clone()))
                    .or(lower(users::email).like(pattern)),
            );
        }
        if let Some(state) = filter.state {
            q = q.filter(users::state.eq(state));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let page = query()
        .order(users::id.asc())
        .offset(offset)
        .limit(limit)
        .select(User::as_select())
        .load(conn)?;
    Ok((page, total))
}

/// Blocks or unblocks a user; a blocked user's tokens stop on their next request.
pub fn set_state(conn: &mut DbConnection, id: i64, state: &'static str) -> Result<(), StoreError> {
    let n = diesel::update(users::table.find(id))
        .set(users::state.eq(state))
        .execute(conn)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
