//! `User`: a profile as GitLab's GraphQL shows it.

use super::scalars::{Time, gid};
use async_graphql::{Enum, ID, SimpleObject};
use tinforge_store::users::{self, STATE_BLOCKED};

/// Whether a user may sign in and use the API.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "lowercase")]
pub enum UserState {
    /// The user is active and can use the instance.
    Active,
    /// An administrator blocked the user; their tokens stop working.
    Blocked,
}

/// A user.
#[derive(SimpleObject, Debug, Clone)]
pub struct User {
    /// Global ID of the user (`gid://gitlab/User/1`).
    pub id: ID,
    /// Username of the user, unique within the instance.
    pub username: String,
    /// Human-readable name of the user.
    pub name: String,
    /// State of the user.
    pub state: UserState,
    /// Whether the user is active.
    pub active: bool,
    /// Web URL of the user's profile.
    pub web_url: String,
    /// Web path of the user's profile.
    pub web_path: String,
    /// URL of the user's avatar.
    pub avatar_url: Option<String>,
    /// Whether the user is a bot.
    pub bot: bool,
    /// When the user was created.
    pub created_at: Time,
}

impl User {
    pub fn from_row(u: &users::User, external_url: &str) -> Self {
        let blocked = u.state == STATE_BLOCKED;
        User {
            id: gid("User", u.id),
            username: u.username.clone(),
            name: u.name.clone(),
            state: if blocked {
                UserState::Blocked
            } else {
                UserState::Active
            },
            active: !blocked,
            web_url: format!("{external_url}/{}", u.username),
            web_path: format!("/{}", u.username),
            avatar_url: None,
            bot: false,
            created_at: Time(u.created_at),
        }
    }
}
