//! Integration tests of the authz crate's public API against /work/shared/permissions.md:
//! the legacy scope table, the token ∩ role ∩ boundary intersection, boundaries and group
//! inheritance, every deny reason, the fine-grained floor, extra scopes and `Boundary::within`.

use std::collections::BTreeSet;

use tinforge_authz::{
    Action, Boundary, Decision, DenyReason, Grant, LegacyScope, Permission, Principal, Requirement,
    Resource, Role, Target, TargetKind, TokenKind, Visibility, decide, require,
};

/// `require!` builds `Requirement::new(&[Permission::new(..)])`; the slice is promoted to
/// `'static` only in a `const` item (not in a plain expression, not even in an inline
/// `const { .. }` block), so `req!` declares a local const and yields it.
macro_rules! req {
    ($($spec:tt)*) => {
        require!($($spec)*)
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The token owner in every test.
const ME: i64 = 7;
/// Somebody else (owner of other personal namespaces).
const SOMEONE_ELSE: i64 = 8;

/// Group tree used by the boundary tests:
///
/// ```text
/// ROOT (90)
/// ├── G (100)
/// │   ├── project 1000
/// │   └── SUB (101)
/// │       └── project 1010
/// └── SIBLING (102)
///     └── project 1020
/// ```
const ROOT: i64 = 90;
const G: i64 = 100;
const SUB: i64 = 101;
const SIBLING: i64 = 102;
const P_IN_G: i64 = 1000;
const P_IN_SUB: i64 = 1010;
const P_IN_SIBLING: i64 = 1020;

fn principal(kind: TokenKind, is_admin: bool) -> Principal {
    Principal {
        user_id: ME,
        username: "me".to_string(),
        is_admin,
        kind,
        token_id: match kind {
            TokenKind::Session => None,
            _ => Some(1),
        },
        job_id: None,
        scopes: Vec::new(),
        grants: Vec::new(),
    }
}

fn legacy(scopes: &[LegacyScope]) -> Principal {
    Principal {
        scopes: scopes.to_vec(),
        ..principal(TokenKind::Legacy, false)
    }
}

fn admin_legacy(scopes: &[LegacyScope]) -> Principal {
    Principal {
        scopes: scopes.to_vec(),
        ..principal(TokenKind::Legacy, true)
    }
}

fn fine(grants: Vec<Grant>) -> Principal {
    Principal {
        grants,
        ..principal(TokenKind::FineGrained, false)
    }
}

fn job(grants: Vec<Grant>) -> Principal {
    Principal {
        grants,
        ..principal(TokenKind::Job, false)
    }
}

fn session(is_admin: bool) -> Principal {
    principal(TokenKind::Session, is_admin)
}

/// A grant from `resource:action` names.
fn grant(boundary: Boundary, permissions: &[&str]) -> Grant {
    Grant {
        boundary,
        permissions: permissions
            .iter()
            .map(|p| p.parse::<Permission>().expect("valid permission name"))
            .collect::<BTreeSet<_>>(),
    }
}

fn selected(projects: &[i64], groups: &[i64]) -> Boundary {
    Boundary::Selected {
        projects: projects.to_vec(),
        groups: groups.to_vec(),
    }
}

fn project(id: i64, visibility: Visibility, role: Role) -> Target {
    Target {
        kind: TargetKind::Project,
        id,
        full_path: format!("acme/p{id}"),
        visibility,
        ancestor_group_ids: Vec::new(),
        personal_owner_id: None,
        role,
    }
}

fn group(id: i64, visibility: Visibility, role: Role) -> Target {
    Target {
        kind: TargetKind::Group,
        id,
        full_path: format!("g{id}"),
        visibility,
        ancestor_group_ids: Vec::new(),
        personal_owner_id: None,
        role,
    }
}

fn with_ancestors(mut t: Target, ancestors: &[i64]) -> Target {
    t.ancestor_group_ids = ancestors.to_vec();
    t
}

fn personal_project(id: i64, owner: i64, visibility: Visibility, role: Role) -> Target {
    let mut t = project(id, visibility, role);
    t.personal_owner_id = Some(owner);
    t.full_path = format!("user{owner}/p{id}");
    t
}

fn deny(reason: DenyReason) -> Decision {
    Decision::Deny(reason)
}

fn insufficient(missing: &[&str]) -> Decision {
    deny(DenyReason::InsufficientScope {
        missing: missing.iter().map(|s| s.to_string()).collect(),
    })
}

fn role_too_low(needed: Role, has: Role) -> Decision {
    deny(DenyReason::RoleTooLow { needed, has })
}

/// A one-permission requirement built at run time (requirements hold `&'static` slices).
fn requirement_for(permission: Permission) -> Requirement {
    Requirement::new(Vec::leak(vec![permission]))
}

// ---------------------------------------------------------------------------------------------
// 1. Legacy scopes × every resource:action
// ---------------------------------------------------------------------------------------------

/// The "Legacy scopes" table of permissions.md, written out by hand. `*` matches any resource or
/// action. `self_rotate`, `sudo` and `admin_mode` allow no `resource:action` on their own:
/// self_rotate is honoured only where a requirement names it as an extra scope, sudo and
/// admin_mode only modify what an admin's other scopes do.
const LEGACY_TABLE: &[(&str, &[&str])] = &[
    ("api", &["*:*"]),
    ("read_api", &["*:read"]),
    ("read_user", &["user:read"]),
    ("read_repository", &["repository:read"]),
    (
        "write_repository",
        &[
            "repository:read",
            "repository:create",
            "repository:update",
            "repository:delete",
        ],
    ),
    ("read_registry", &["container_registry:read"]),
    (
        "write_registry",
        &["container_registry:create", "container_registry:update"],
    ),
    ("create_runner", &["runner:create"]),
    (
        "manage_runner",
        &["runner:read", "runner:update", "runner:delete"],
    ),
    ("self_rotate", &[]),
    ("sudo", &[]),
    ("admin_mode", &[]),
];

fn table_allows(scope_name: &str, resource: &str, action: &str) -> bool {
    let (_, patterns) = LEGACY_TABLE
        .iter()
        .find(|(name, _)| *name == scope_name)
        .unwrap_or_else(|| panic!("scope {scope_name} missing from LEGACY_TABLE"));
    patterns.iter().any(|pattern| {
        let (r, a) = pattern.split_once(':').unwrap();
        (r == "*" || r == resource) && (a == "*" || a == action)
    })
}

/// A target the owner is Owner of, or none for resources that belong to no project or group.
fn owned_target_for(resource: Resource) -> Option<Target> {
    match resource {
        Resource::User | Resource::PersonalAccessToken | Resource::Runner => None,
        Resource::Group => Some(group(G, Visibility::Private, Role::Owner)),
        _ => Some(project(P_IN_G, Visibility::Private, Role::Owner)),
    }
}

#[test]
fn legacy_table_names_every_scope_exactly_once() {
    let names: Vec<&str> = LEGACY_TABLE.iter().map(|(n, _)| *n).collect();
    let mut expected: Vec<&str> = LegacyScope::ALL.iter().map(|s| s.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn every_legacy_scope_against_every_resource_action_matches_the_table() {
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for scope in LegacyScope::ALL {
        let token = legacy(&[scope]);
        for resource in Resource::ALL {
            for action in Action::ALL {
                let perm = Permission::new(resource, action);
                let name = format!("{}:{}", resource.as_str(), action.as_str());
                let req = requirement_for(perm);
                let target = owned_target_for(resource);
                let got = decide(Some(&token), &req, target.as_ref());
                let want = if table_allows(scope.as_str(), resource.as_str(), action.as_str()) {
                    Decision::Allow
                } else {
                    insufficient(&[&name])
                };
                if got != want {
                    mismatches.push(format!("{scope} on {name}: want {want:?}, got {got:?}"));
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12 * 11 * 4);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn legacy_scope_allow_counts_match_the_table() {
    let expected_counts = [
        (LegacyScope::Api, 44),
        (LegacyScope::ReadApi, 11),
        (LegacyScope::ReadUser, 1),
        (LegacyScope::ReadRepository, 1),
        (LegacyScope::WriteRepository, 4),
        (LegacyScope::ReadRegistry, 1),
        (LegacyScope::WriteRegistry, 2),
        (LegacyScope::CreateRunner, 1),
        (LegacyScope::ManageRunner, 3),
        (LegacyScope::SelfRotate, 0),
        (LegacyScope::Sudo, 0),
        (LegacyScope::AdminMode, 0),
    ];
    for (scope, want) in expected_counts {
        let token = legacy(&[scope]);
        let allowed = Resource::ALL
            .into_iter()
            .flat_map(|r| Action::ALL.into_iter().map(move |a| Permission::new(r, a)))
            .filter(|p| {
                let target = owned_target_for(p.resource);
                decide(Some(&token), &requirement_for(*p), target.as_ref()).is_allow()
            })
            .count();
        assert_eq!(allowed, want, "{scope}");
    }
}

#[test]
fn legacy_scopes_combine_as_a_union() {
    let token = legacy(&[LegacyScope::ReadRegistry, LegacyScope::WriteRegistry]);
    let t = project(P_IN_G, Visibility::Private, Role::Owner);
    for req in [
        req!(container_registry:read),
        req!(container_registry:create),
        req!(container_registry:update),
    ] {
        assert_eq!(decide(Some(&token), &req, Some(&t)), Decision::Allow);
    }
    assert_eq!(
        decide(Some(&token), &req!(container_registry:delete), Some(&t)),
        insufficient(&["container_registry:delete"])
    );
}

#[test]
fn legacy_tokens_have_no_boundary() {
    // Any project the owner can reach, personal or not, in any group.
    let token = legacy(&[LegacyScope::Api]);
    let req = req!(issue:update).min_role(Role::Developer);
    for t in [
        with_ancestors(
            project(P_IN_SUB, Visibility::Private, Role::Developer),
            &[SUB, G, ROOT],
        ),
        with_ancestors(
            project(P_IN_SIBLING, Visibility::Internal, Role::Maintainer),
            &[SIBLING, ROOT],
        ),
        personal_project(5, SOMEONE_ELSE, Visibility::Private, Role::Developer),
    ] {
        assert_eq!(decide(Some(&token), &req, Some(&t)), Decision::Allow);
    }
}

#[test]
fn a_session_carries_the_full_role_rights() {
    let s = session(false);
    for resource in Resource::ALL {
        for action in Action::ALL {
            let perm = Permission::new(resource, action);
            let target = owned_target_for(resource);
            assert_eq!(
                decide(Some(&s), &requirement_for(perm), target.as_ref()),
                Decision::Allow,
                "{perm}"
            );
        }
    }
    // ... but still within the role.
    let t = project(P_IN_G, Visibility::Private, Role::Reporter);
    assert_eq!(
        decide(
            Some(&s),
            &req!(project:delete).min_role(Role::Owner),
            Some(&t)
        ),
        role_too_low(Role::Owner, Role::Reporter)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The intersection: token ∩ role ∩ boundary
// ---------------------------------------------------------------------------------------------

#[test]
fn fine_grained_grant_inside_boundary_is_capped_by_a_guest_role() {
    let token = fine(vec![grant(selected(&[P_IN_G], &[]), &["issue:update"])]);
    let t = project(P_IN_G, Visibility::Private, Role::Guest);
    let req = req!(issue:update).min_role(Role::Reporter);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        role_too_low(Role::Reporter, Role::Guest)
    );
    // Same token, enough role: allowed.
    let t = project(P_IN_G, Visibility::Private, Role::Reporter);
    assert_eq!(decide(Some(&token), &req, Some(&t)), Decision::Allow);
}

#[test]
fn legacy_api_token_is_capped_by_the_role() {
    let token = legacy(&[LegacyScope::Api]);
    let req = req!(issue:update).min_role(Role::Reporter);
    let t = project(P_IN_G, Visibility::Private, Role::Guest);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        role_too_low(Role::Reporter, Role::Guest)
    );

    let push = req!(repository:update).min_role(Role::Developer);
    let public_non_member = project(P_IN_SIBLING, Visibility::Public, Role::None);
    assert_eq!(
        decide(Some(&token), &push, Some(&public_non_member)),
        role_too_low(Role::Developer, Role::None)
    );

    let delete = req!(project:delete).min_role(Role::Owner);
    let t = project(P_IN_G, Visibility::Private, Role::Maintainer);
    assert_eq!(
        decide(Some(&token), &delete, Some(&t)),
        role_too_low(Role::Owner, Role::Maintainer)
    );
}

#[test]
fn grant_outside_boundary_on_a_public_project_is_outside_boundary() {
    // The token holds issue:update, but only for another project; the target is public, so it is
    // visible, and the answer is 403 outside_boundary, not 404.
    let token = fine(vec![grant(
        selected(&[P_IN_SIBLING], &[]),
        &["issue:update"],
    )]);
    let t = project(P_IN_G, Visibility::Public, Role::Developer);
    let req = req!(issue:update).min_role(Role::Reporter);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        deny(DenyReason::OutsideBoundary)
    );
}

#[test]
fn grant_outside_boundary_on_a_private_project_is_not_visible() {
    // Owner is even Owner of the project: visibility is judged with the token's eyes.
    let token = fine(vec![grant(
        selected(&[P_IN_SIBLING], &[]),
        &["issue:update"],
    )]);
    let t = project(P_IN_G, Visibility::Private, Role::Owner);
    let req = req!(issue:update).min_role(Role::Reporter);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        deny(DenyReason::NotVisible)
    );
}

#[test]
fn grant_outside_boundary_on_an_internal_project_is_not_visible() {
    let token = fine(vec![grant(selected(&[P_IN_SIBLING], &[]), &["issue:read"])]);
    let t = project(P_IN_G, Visibility::Internal, Role::Owner);
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&t)),
        deny(DenyReason::NotVisible)
    );
}

#[test]
fn all_three_satisfied_is_allowed() {
    let token = fine(vec![grant(
        selected(&[], &[G]),
        &["merge_request:update", "repository:update"],
    )]);
    let t = with_ancestors(
        project(P_IN_SUB, Visibility::Private, Role::Developer),
        &[SUB, G, ROOT],
    );
    let merge = req!(merge_request:update, repository:update).min_role(Role::Developer);
    assert_eq!(decide(Some(&token), &merge, Some(&t)), Decision::Allow);
}

#[test]
fn a_grant_that_reaches_the_target_is_enough_among_several() {
    let token = fine(vec![
        grant(selected(&[P_IN_SIBLING], &[]), &["issue:update"]),
        grant(Boundary::PersonalProjects, &["issue:read"]),
        grant(selected(&[P_IN_G], &[]), &["issue:update", "issue:read"]),
    ]);
    let t = project(P_IN_G, Visibility::Private, Role::Developer);
    assert_eq!(
        decide(Some(&token), &req!(issue:update), Some(&t)),
        Decision::Allow
    );
}

#[test]
fn a_grant_visible_target_but_the_holding_grant_elsewhere_is_outside_boundary() {
    // Grant A makes the private project visible (its boundary contains it) but holds only
    // issue:read; grant B holds issue:update for another project.
    let token = fine(vec![
        grant(selected(&[P_IN_G], &[]), &["issue:read"]),
        grant(selected(&[P_IN_SIBLING], &[]), &["issue:update"]),
    ]);
    let t = project(P_IN_G, Visibility::Private, Role::Developer);
    assert_eq!(
        decide(Some(&token), &req!(issue:update), Some(&t)),
        deny(DenyReason::OutsideBoundary)
    );
}

#[test]
fn a_conjunction_split_across_two_grants_is_refused() {
    // Both grants reach the target, but neither holds every permission: a request needs one
    // grant holding all of them. The missing list then names the whole conjunction.
    let token = fine(vec![
        grant(selected(&[P_IN_G], &[]), &["merge_request:update"]),
        grant(selected(&[P_IN_G], &[]), &["repository:update"]),
    ]);
    let t = project(P_IN_G, Visibility::Private, Role::Maintainer);
    let merge = req!(merge_request:update, repository:update);
    assert_eq!(
        decide(Some(&token), &merge, Some(&t)),
        insufficient(&["merge_request:update", "repository:update"])
    );
}

#[test]
fn update_does_not_imply_read() {
    let token = fine(vec![grant(selected(&[P_IN_G], &[]), &["issue:update"])]);
    let t = project(P_IN_G, Visibility::Private, Role::Owner);
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&t)),
        insufficient(&["issue:read"])
    );
}

#[test]
fn job_tokens_follow_the_fine_grained_rules() {
    let token = job(vec![grant(
        selected(&[P_IN_G], &[]),
        &["repository:read", "container_registry:create"],
    )]);
    let own = project(P_IN_G, Visibility::Private, Role::Developer);
    let other = project(P_IN_SIBLING, Visibility::Private, Role::Developer);
    assert_eq!(
        decide(Some(&token), &req!(repository:read), Some(&own)),
        Decision::Allow
    );
    assert_eq!(
        decide(Some(&token), &req!(repository:read), Some(&other)),
        deny(DenyReason::NotVisible)
    );
    assert_eq!(
        decide(Some(&token), &req!(repository:update), Some(&own)),
        insufficient(&["repository:update"])
    );
    assert_eq!(
        decide(
            Some(&token),
            &req!(repository:read).not_covered(),
            Some(&own)
        ),
        deny(DenyReason::NotCovered)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Boundaries and group inheritance
// ---------------------------------------------------------------------------------------------

#[test]
fn selected_group_contains_itself_its_projects_subgroups_and_their_projects() {
    let b = selected(&[], &[G]);
    let g = with_ancestors(group(G, Visibility::Private, Role::None), &[ROOT]);
    let sub = with_ancestors(group(SUB, Visibility::Private, Role::None), &[G, ROOT]);
    let p_in_g = with_ancestors(project(P_IN_G, Visibility::Private, Role::None), &[G, ROOT]);
    let p_in_sub = with_ancestors(
        project(P_IN_SUB, Visibility::Private, Role::None),
        &[SUB, G, ROOT],
    );
    for t in [&g, &sub, &p_in_g, &p_in_sub] {
        assert!(b.contains(ME, t), "{} should be inside", t.full_path);
    }
}

#[test]
fn selected_group_excludes_siblings_parents_and_their_projects() {
    let b = selected(&[], &[G]);
    let root = group(ROOT, Visibility::Private, Role::None);
    let sibling = with_ancestors(group(SIBLING, Visibility::Private, Role::None), &[ROOT]);
    let p_in_sibling = with_ancestors(
        project(P_IN_SIBLING, Visibility::Private, Role::None),
        &[SIBLING, ROOT],
    );
    // A project whose id happens to equal G's id is still not the group.
    let same_id_project = project(G, Visibility::Private, Role::None);
    for t in [&root, &sibling, &p_in_sibling, &same_id_project] {
        assert!(!b.contains(ME, t), "{} should be outside", t.full_path);
    }
}

#[test]
fn selected_project_contains_only_that_project() {
    let b = selected(&[P_IN_SUB], &[]);
    let p = with_ancestors(
        project(P_IN_SUB, Visibility::Private, Role::None),
        &[SUB, G, ROOT],
    );
    assert!(b.contains(ME, &p));
    let parent = with_ancestors(group(SUB, Visibility::Private, Role::None), &[G, ROOT]);
    assert!(!b.contains(ME, &parent));
    // A group whose id equals the project id is not the project.
    assert!(!b.contains(ME, &group(P_IN_SUB, Visibility::Private, Role::None)));
    let neighbour = with_ancestors(project(P_IN_G, Visibility::Private, Role::None), &[G, ROOT]);
    assert!(!b.contains(ME, &neighbour));
}

#[test]
fn selected_group_boundary_reaches_a_subgroup_project_through_decide() {
    let token = fine(vec![grant(selected(&[], &[G]), &["issue:update"])]);
    let req = req!(issue:update).min_role(Role::Reporter);
    let p_in_sub = with_ancestors(
        project(P_IN_SUB, Visibility::Private, Role::Reporter),
        &[SUB, G, ROOT],
    );
    assert_eq!(decide(Some(&token), &req, Some(&p_in_sub)), Decision::Allow);

    let p_in_sibling = with_ancestors(
        project(P_IN_SIBLING, Visibility::Private, Role::Reporter),
        &[SIBLING, ROOT],
    );
    assert_eq!(
        decide(Some(&token), &req, Some(&p_in_sibling)),
        deny(DenyReason::NotVisible)
    );

    let group_settings = req!(group:update).min_role(Role::Owner);
    let token = fine(vec![grant(selected(&[], &[G]), &["group:update"])]);
    let sub = with_ancestors(group(SUB, Visibility::Private, Role::Owner), &[G, ROOT]);
    assert_eq!(
        decide(Some(&token), &group_settings, Some(&sub)),
        Decision::Allow
    );
    let sibling = with_ancestors(group(SIBLING, Visibility::Public, Role::Owner), &[ROOT]);
    assert_eq!(
        decide(Some(&token), &group_settings, Some(&sibling)),
        deny(DenyReason::OutsideBoundary)
    );
}

#[test]
fn project_create_is_judged_on_the_namespace_group() {
    // Creating a project is a write on the namespace it goes into: a group within the boundary.
    let token = fine(vec![grant(selected(&[], &[G]), &["project:create"])]);
    let create = req!(project:create).min_role(Role::Developer);
    let sub = with_ancestors(group(SUB, Visibility::Private, Role::Developer), &[G, ROOT]);
    assert_eq!(decide(Some(&token), &create, Some(&sub)), Decision::Allow);
    let sibling = with_ancestors(group(SIBLING, Visibility::Private, Role::Owner), &[ROOT]);
    assert_eq!(
        decide(Some(&token), &create, Some(&sibling)),
        deny(DenyReason::NotVisible)
    );
    let public_sibling = with_ancestors(group(SIBLING, Visibility::Public, Role::Owner), &[ROOT]);
    assert_eq!(
        decide(Some(&token), &create, Some(&public_sibling)),
        deny(DenyReason::OutsideBoundary)
    );
    let guest_sub = with_ancestors(group(SUB, Visibility::Private, Role::Guest), &[G, ROOT]);
    assert_eq!(
        decide(Some(&token), &create, Some(&guest_sub)),
        role_too_low(Role::Developer, Role::Guest)
    );
}

#[test]
fn personal_projects_contains_only_the_owners_personal_projects() {
    let b = Boundary::PersonalProjects;
    assert!(b.contains(
        ME,
        &personal_project(1, ME, Visibility::Private, Role::Owner)
    ));
    assert!(!b.contains(
        ME,
        &personal_project(2, SOMEONE_ELSE, Visibility::Public, Role::Developer)
    ));
    // Group projects, even ones the owner owns, and groups themselves are outside.
    assert!(!b.contains(
        ME,
        &with_ancestors(project(P_IN_G, Visibility::Private, Role::Owner), &[G])
    ));
    assert!(!b.contains(ME, &group(G, Visibility::Private, Role::Owner)));
    // The same boundary held by someone else reaches their projects instead.
    assert!(b.contains(
        SOMEONE_ELSE,
        &personal_project(2, SOMEONE_ELSE, Visibility::Public, Role::None)
    ));
}

#[test]
fn personal_projects_boundary_through_decide() {
    let token = fine(vec![grant(
        Boundary::PersonalProjects,
        &["repository:create"],
    )]);
    let req = req!(repository:create).min_role(Role::Developer);
    let mine = personal_project(1, ME, Visibility::Private, Role::Owner);
    assert_eq!(decide(Some(&token), &req, Some(&mine)), Decision::Allow);
    // A collaborator's personal project where I am Developer: private → not visible to the token.
    let theirs = personal_project(2, SOMEONE_ELSE, Visibility::Private, Role::Developer);
    assert_eq!(
        decide(Some(&token), &req, Some(&theirs)),
        deny(DenyReason::NotVisible)
    );
    let theirs_public = personal_project(3, SOMEONE_ELSE, Visibility::Public, Role::Developer);
    assert_eq!(
        decide(Some(&token), &req, Some(&theirs_public)),
        deny(DenyReason::OutsideBoundary)
    );
}

#[test]
fn all_memberships_contains_exactly_the_targets_with_a_role() {
    let b = Boundary::AllMemberships;
    for role in Role::MEMBER_ROLES {
        assert!(b.contains(ME, &project(P_IN_G, Visibility::Private, role)));
        assert!(b.contains(ME, &group(G, Visibility::Private, role)));
    }
    assert!(!b.contains(ME, &project(P_IN_G, Visibility::Public, Role::None)));
    assert!(!b.contains(ME, &group(G, Visibility::Internal, Role::None)));
}

#[test]
fn all_memberships_reaches_a_project_only_through_an_inherited_group_membership() {
    // No direct membership on the project; Developer on its parent group G; Guest on ROOT.
    let direct: Vec<Role> = Vec::new();
    let inherited = [Role::Developer, Role::Guest];
    let effective = Role::highest(direct.iter().copied().chain(inherited));
    assert_eq!(effective, Role::Developer);

    let p = with_ancestors(
        project(P_IN_SUB, Visibility::Private, effective),
        &[SUB, G, ROOT],
    );
    assert!(Boundary::AllMemberships.contains(ME, &p));

    let token = fine(vec![grant(Boundary::AllMemberships, &["issue:update"])]);
    let req = req!(issue:update).min_role(Role::Reporter);
    assert_eq!(decide(Some(&token), &req, Some(&p)), Decision::Allow);

    // The highest role wins: a direct Guest membership does not hide the inherited Developer.
    let effective = Role::highest([Role::Guest].into_iter().chain(inherited));
    assert_eq!(effective, Role::Developer);

    // Without any membership the same private project is invisible to the token.
    let p = with_ancestors(
        project(P_IN_SUB, Visibility::Private, Role::highest(direct)),
        &[SUB, G, ROOT],
    );
    assert_eq!(
        decide(Some(&token), &req, Some(&p)),
        deny(DenyReason::NotVisible)
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Every deny reason
// ---------------------------------------------------------------------------------------------

#[test]
fn anonymous_without_a_target_is_unauthenticated() {
    for req in [
        req!(user:read),
        req!(project:create),
        req!(personal_access_token:read),
        req!(runner:read),
    ] {
        assert_eq!(decide(None, &req, None), deny(DenyReason::Unauthenticated));
    }
}

#[test]
fn anonymous_write_on_a_public_target_is_unauthenticated() {
    let t = project(P_IN_G, Visibility::Public, Role::None);
    for req in [
        req!(issue:create),
        req!(repository:update).min_role(Role::Developer),
        req!(merge_request:read, repository:update),
    ] {
        assert_eq!(
            decide(None, &req, Some(&t)),
            deny(DenyReason::Unauthenticated)
        );
    }
    let g = group(G, Visibility::Public, Role::None);
    assert_eq!(
        decide(None, &req!(group:update), Some(&g)),
        deny(DenyReason::Unauthenticated)
    );
}

#[test]
fn anonymous_may_read_public_targets_only() {
    let req = req!(issue:read).min_role(Role::Reporter);
    let public = project(P_IN_G, Visibility::Public, Role::None);
    assert_eq!(decide(None, &req, Some(&public)), Decision::Allow);
    assert_eq!(
        decide(
            None,
            &req!(group:read),
            Some(&group(G, Visibility::Public, Role::None))
        ),
        Decision::Allow
    );
    for visibility in [Visibility::Internal, Visibility::Private] {
        let t = project(P_IN_G, visibility, Role::None);
        assert_eq!(
            decide(None, &req, Some(&t)),
            deny(DenyReason::NotVisible),
            "{visibility:?}"
        );
        assert_eq!(
            decide(None, &req!(issue:create), Some(&t)),
            deny(DenyReason::NotVisible),
            "{visibility:?}"
        );
    }
}

#[test]
fn non_member_on_a_private_target_is_not_visible() {
    let t = project(P_IN_G, Visibility::Private, Role::None);
    for p in [legacy(&[LegacyScope::Api]), session(false)] {
        assert_eq!(
            decide(Some(&p), &req!(issue:read), Some(&t)),
            deny(DenyReason::NotVisible)
        );
    }
    // Even a fine-grained grant naming the project cannot see what its owner cannot.
    let token = fine(vec![grant(selected(&[P_IN_G], &[]), &["issue:read"])]);
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&t)),
        deny(DenyReason::NotVisible)
    );
}

#[test]
fn non_member_signed_in_may_read_internal_targets() {
    let t = project(P_IN_G, Visibility::Internal, Role::None);
    let req = req!(repository:read).min_role(Role::Reporter);
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::ReadApi])), &req, Some(&t)),
        Decision::Allow
    );
    // ... but not write where a role is needed.
    assert_eq!(
        decide(
            Some(&legacy(&[LegacyScope::Api])),
            &req!(repository:update).min_role(Role::Developer),
            Some(&t)
        ),
        role_too_low(Role::Developer, Role::None)
    );
}

#[test]
fn fine_grained_boundary_hides_a_private_project_the_owner_is_member_of() {
    let token = fine(vec![grant(
        selected(&[P_IN_SIBLING], &[SIBLING]),
        &["issue:read", "issue:update"],
    )]);
    let t = with_ancestors(
        project(P_IN_G, Visibility::Private, Role::Maintainer),
        &[G, ROOT],
    );
    for req in [req!(issue:read), req!(issue:update)] {
        assert_eq!(
            decide(Some(&token), &req, Some(&t)),
            deny(DenyReason::NotVisible)
        );
    }
    // The legacy token of the same owner sees it.
    assert_eq!(
        decide(
            Some(&legacy(&[LegacyScope::ReadApi])),
            &req!(issue:read),
            Some(&t)
        ),
        Decision::Allow
    );
}

#[test]
fn insufficient_scope_lists_exactly_the_missing_permissions_for_legacy_tokens() {
    let t = project(P_IN_G, Visibility::Private, Role::Maintainer);
    let merge = req!(merge_request:update, repository:update).min_role(Role::Developer);

    assert_eq!(
        decide(
            Some(&legacy(&[LegacyScope::WriteRepository])),
            &merge,
            Some(&t)
        ),
        insufficient(&["merge_request:update"])
    );
    assert_eq!(
        decide(
            Some(&legacy(&[
                LegacyScope::ReadApi,
                LegacyScope::ReadRepository
            ])),
            &merge,
            Some(&t)
        ),
        insufficient(&["merge_request:update", "repository:update"])
    );
    assert_eq!(
        decide(
            Some(&legacy(&[
                LegacyScope::WriteRepository,
                LegacyScope::ReadApi
            ])),
            &merge,
            Some(&t)
        ),
        insufficient(&["merge_request:update"])
    );
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::Api])), &merge, Some(&t)),
        Decision::Allow
    );
    // A token with no scopes at all misses everything.
    assert_eq!(
        decide(Some(&legacy(&[])), &req!(issue:read), Some(&t)),
        insufficient(&["issue:read"])
    );
}

#[test]
fn insufficient_scope_lists_exactly_the_missing_permissions_for_fine_grained_tokens() {
    let t = project(P_IN_G, Visibility::Private, Role::Maintainer);
    let merge = req!(merge_request:update, repository:update).min_role(Role::Developer);

    let token = fine(vec![grant(
        selected(&[P_IN_G], &[]),
        &["merge_request:update", "merge_request:read"],
    )]);
    assert_eq!(
        decide(Some(&token), &merge, Some(&t)),
        insufficient(&["repository:update"])
    );

    let token = fine(vec![grant(
        selected(&[P_IN_G], &[]),
        &["repository:update"],
    )]);
    assert_eq!(
        decide(Some(&token), &merge, Some(&t)),
        insufficient(&["merge_request:update"])
    );

    // Held in a grant that does not reach the target does not count as held.
    let token = fine(vec![
        grant(selected(&[P_IN_G], &[]), &["merge_request:update"]),
        grant(selected(&[P_IN_SIBLING], &[]), &["repository:update"]),
    ]);
    assert_eq!(
        decide(Some(&token), &merge, Some(&t)),
        insufficient(&["repository:update"])
    );

    let token = fine(vec![grant(
        selected(&[P_IN_G], &[]),
        &["merge_request:update", "repository:update"],
    )]);
    assert_eq!(decide(Some(&token), &merge, Some(&t)), Decision::Allow);
}

#[test]
fn fine_grained_permissions_on_boundary_free_resources_ignore_the_boundary() {
    // user, personal_access_token and runner belong to no project or group.
    let token = fine(vec![grant(
        selected(&[P_IN_SIBLING], &[]),
        &["user:read", "personal_access_token:create", "runner:update"],
    )]);
    for req in [
        req!(user:read),
        req!(personal_access_token:create),
        req!(runner:update),
    ] {
        assert_eq!(decide(Some(&token), &req, None), Decision::Allow);
    }
    assert_eq!(
        decide(Some(&token), &req!(user:update), None),
        insufficient(&["user:update"])
    );
    assert_eq!(
        decide(Some(&token), &req!(runner:delete), None),
        insufficient(&["runner:delete"])
    );
}

#[test]
fn outside_boundary_for_a_visible_target() {
    let token = fine(vec![grant(Boundary::PersonalProjects, &["issue:create"])]);
    let t = with_ancestors(project(P_IN_G, Visibility::Public, Role::Developer), &[G]);
    assert_eq!(
        decide(Some(&token), &req!(issue:create), Some(&t)),
        deny(DenyReason::OutsideBoundary)
    );
    assert_eq!(DenyReason::OutsideBoundary.code(), "outside_boundary");
}

#[test]
fn role_too_low_reports_needed_and_has() {
    let token = legacy(&[LegacyScope::Api]);
    let cases = [
        (
            Role::Guest,
            Role::Reporter,
            req!(pipeline:read).min_role(Role::Reporter),
        ),
        (
            Role::Reporter,
            Role::Developer,
            req!(pipeline:create).min_role(Role::Developer),
        ),
        (
            Role::Developer,
            Role::Maintainer,
            req!(member:create).min_role(Role::Maintainer),
        ),
        (
            Role::Maintainer,
            Role::Owner,
            req!(project:delete).min_role(Role::Owner),
        ),
    ];
    for (has, needed, req) in cases {
        let t = project(P_IN_G, Visibility::Private, has);
        assert_eq!(
            decide(Some(&token), &req, Some(&t)),
            role_too_low(needed, has)
        );
        let t = project(P_IN_G, Visibility::Private, needed);
        assert_eq!(decide(Some(&token), &req, Some(&t)), Decision::Allow);
    }
}

#[test]
fn reads_of_public_and_internal_targets_need_no_role_but_private_ones_need_guest() {
    let token = legacy(&[LegacyScope::ReadApi]);
    let req = req!(repository:read).min_role(Role::Reporter);
    for visibility in [Visibility::Public, Visibility::Internal] {
        let t = project(P_IN_G, visibility, Role::None);
        assert_eq!(decide(Some(&token), &req, Some(&t)), Decision::Allow);
    }
    let t = project(P_IN_G, Visibility::Private, Role::Guest);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        role_too_low(Role::Reporter, Role::Guest)
    );
    // Issues of a private project: Guest suffices when min_role is None.
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&t)),
        Decision::Allow
    );
}

#[test]
fn not_covered_refuses_fine_grained_tokens_but_not_legacy_tokens_or_sessions() {
    let req = req!(issue:read).not_covered();
    let t = project(P_IN_G, Visibility::Private, Role::Developer);
    let token = fine(vec![grant(selected(&[P_IN_G], &[]), &["issue:read"])]);
    assert_eq!(
        decide(Some(&token), &req, Some(&t)),
        deny(DenyReason::NotCovered)
    );
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::Api])), &req, Some(&t)),
        Decision::Allow
    );
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::ReadApi])), &req, Some(&t)),
        Decision::Allow
    );
    assert_eq!(
        decide(Some(&session(false)), &req, Some(&t)),
        Decision::Allow
    );
    // Without a target too.
    let req = req!(user:read).not_covered();
    let token = fine(vec![grant(Boundary::AllMemberships, &["user:read"])]);
    assert_eq!(
        decide(Some(&token), &req, None),
        deny(DenyReason::NotCovered)
    );
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::ReadUser])), &req, None),
        Decision::Allow
    );
}

#[test]
fn admin_only_refuses_non_admins() {
    let req = req!(user:update).admin_only();
    for p in [
        legacy(&[LegacyScope::Api, LegacyScope::AdminMode]),
        session(false),
        fine(vec![grant(Boundary::AllMemberships, &["user:update"])]),
    ] {
        assert_eq!(
            decide(Some(&p), &req, None),
            deny(DenyReason::AdminRequired),
            "{:?}",
            p.kind
        );
    }
    assert_eq!(decide(None, &req, None), deny(DenyReason::Unauthenticated));
}

#[test]
fn admin_needs_admin_mode_for_admin_endpoints() {
    let req = req!(user:update).admin_only();
    assert_eq!(
        decide(Some(&admin_legacy(&[LegacyScope::Api])), &req, None),
        insufficient(&["admin_mode"])
    );
    assert_eq!(
        decide(
            Some(&admin_legacy(&[LegacyScope::Api, LegacyScope::AdminMode])),
            &req,
            None
        ),
        Decision::Allow
    );
    // admin_mode alone does not grant the underlying permission.
    assert_eq!(
        decide(Some(&admin_legacy(&[LegacyScope::AdminMode])), &req, None),
        insufficient(&["user:update"])
    );
    // A session of an admin is in admin mode.
    assert_eq!(decide(Some(&session(true)), &req, None), Decision::Allow);
    // Fine-grained tokens never carry admin mode: admin endpoints are not covered for them.
    let admin_fine = Principal {
        grants: vec![grant(Boundary::AllMemberships, &["user:update"])],
        ..principal(TokenKind::FineGrained, true)
    };
    assert_eq!(
        decide(Some(&admin_fine), &req, None),
        deny(DenyReason::NotCovered)
    );
}

#[test]
fn admin_mode_sees_and_owns_every_target() {
    let req = req!(project:delete).min_role(Role::Owner);
    let t = project(P_IN_G, Visibility::Private, Role::None);
    assert_eq!(
        decide(
            Some(&admin_legacy(&[LegacyScope::Api, LegacyScope::AdminMode])),
            &req,
            Some(&t)
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(Some(&session(true)), &req, Some(&t)),
        Decision::Allow
    );
    // Without admin mode an admin is a normal user.
    assert_eq!(
        decide(Some(&admin_legacy(&[LegacyScope::Api])), &req, Some(&t)),
        deny(DenyReason::NotVisible)
    );
    let t = project(P_IN_G, Visibility::Public, Role::Guest);
    assert_eq!(
        decide(Some(&admin_legacy(&[LegacyScope::Api])), &req, Some(&t)),
        role_too_low(Role::Owner, Role::Guest)
    );
    // A non-admin holding admin_mode gains nothing.
    let t = project(P_IN_G, Visibility::Private, Role::None);
    assert_eq!(
        decide(
            Some(&legacy(&[LegacyScope::Api, LegacyScope::AdminMode])),
            &req,
            Some(&t)
        ),
        deny(DenyReason::NotVisible)
    );
}

#[test]
fn admin_fine_grained_token_is_not_in_admin_mode() {
    let admin_fine = Principal {
        grants: vec![grant(Boundary::AllMemberships, &["project:delete"])],
        ..principal(TokenKind::FineGrained, true)
    };
    let t = project(P_IN_G, Visibility::Private, Role::None);
    assert_eq!(
        decide(
            Some(&admin_fine),
            &req!(project:delete).min_role(Role::Owner),
            Some(&t)
        ),
        deny(DenyReason::NotVisible)
    );
}

#[test]
fn deny_reason_codes() {
    let cases = [
        (DenyReason::Unauthenticated, "unauthenticated"),
        (DenyReason::NotVisible, "not_visible"),
        (
            DenyReason::InsufficientScope {
                missing: vec!["issue:read".into()],
            },
            "insufficient_scope",
        ),
        (DenyReason::OutsideBoundary, "outside_boundary"),
        (
            DenyReason::RoleTooLow {
                needed: Role::Owner,
                has: Role::Guest,
            },
            "role_too_low",
        ),
        (DenyReason::NotCovered, "not_covered"),
        (DenyReason::AdminRequired, "admin_required"),
    ];
    for (reason, code) in cases {
        assert_eq!(reason.code(), code);
        assert!(!deny(reason).is_allow());
    }
    assert!(Decision::Allow.is_allow());
}

// ---------------------------------------------------------------------------------------------
// 5. The fine-grained floor
// ---------------------------------------------------------------------------------------------

#[test]
fn fine_grained_token_without_grants_reads_public_targets_like_anonymous() {
    let token = fine(Vec::new());
    let public = with_ancestors(
        project(P_IN_SIBLING, Visibility::Public, Role::None),
        &[SIBLING],
    );
    for req in [
        req!(project:read),
        req!(issue:read),
        req!(repository:read).min_role(Role::Reporter),
        req!(merge_request:read, repository:read),
    ] {
        assert_eq!(decide(None, &req, Some(&public)), Decision::Allow);
        assert_eq!(decide(Some(&token), &req, Some(&public)), Decision::Allow);
    }
    assert_eq!(
        decide(
            Some(&token),
            &req!(group:read),
            Some(&group(G, Visibility::Public, Role::None))
        ),
        Decision::Allow
    );
    // Even as a member: the floor does not depend on role.
    let public_member = project(P_IN_G, Visibility::Public, Role::Maintainer);
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&public_member)),
        Decision::Allow
    );
}

#[test]
fn fine_grained_token_without_grants_cannot_write_public_targets() {
    let token = fine(Vec::new());
    let public = project(P_IN_G, Visibility::Public, Role::Owner);
    assert_eq!(
        decide(Some(&token), &req!(issue:create), Some(&public)),
        insufficient(&["issue:create"])
    );
    assert_eq!(
        decide(
            Some(&token),
            &req!(merge_request:read, repository:update),
            Some(&public)
        ),
        insufficient(&["merge_request:read", "repository:update"])
    );
}

#[test]
fn fine_grained_floor_does_not_open_internal_or_private_targets() {
    let token = fine(Vec::new());
    for visibility in [Visibility::Internal, Visibility::Private] {
        let t = project(P_IN_G, visibility, Role::Owner);
        assert_eq!(
            decide(Some(&token), &req!(issue:read), Some(&t)),
            deny(DenyReason::NotVisible),
            "{visibility:?}"
        );
    }
    // Nor boundary-free resources: an anonymous caller cannot read a profile list either.
    assert_eq!(
        decide(Some(&token), &req!(user:read), None),
        insufficient(&["user:read"])
    );
}

#[test]
fn fine_grained_read_outside_boundary_on_public_target_is_allowed_by_the_floor() {
    let token = fine(vec![grant(selected(&[P_IN_SIBLING], &[]), &["issue:read"])]);
    let t = project(P_IN_G, Visibility::Public, Role::None);
    assert_eq!(
        decide(Some(&token), &req!(issue:read), Some(&t)),
        Decision::Allow
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Extra scopes
// ---------------------------------------------------------------------------------------------

#[test]
fn extra_scope_self_rotate_satisfies_a_requirement_that_names_it() {
    let rotate_self = req!(personal_access_token:update).also_scopes(&[LegacyScope::SelfRotate]);
    let token = legacy(&[LegacyScope::SelfRotate]);
    assert_eq!(decide(Some(&token), &rotate_self, None), Decision::Allow);

    // The table scopes still satisfy it too.
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::Api])), &rotate_self, None),
        Decision::Allow
    );

    // Where the requirement does not name it, self_rotate alone is not enough.
    let rotate_any = req!(personal_access_token:update);
    assert_eq!(
        decide(Some(&token), &rotate_any, None),
        insufficient(&["personal_access_token:update"])
    );

    // Other non-table scopes do not satisfy it.
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::Sudo])), &rotate_self, None),
        insufficient(&["personal_access_token:update"])
    );
    assert_eq!(
        decide(Some(&legacy(&[LegacyScope::ReadApi])), &rotate_self, None),
        insufficient(&["personal_access_token:update"])
    );
}

#[test]
fn extra_scopes_are_reported_among_satisfying_scopes() {
    let rotate_self = req!(personal_access_token:update).also_scopes(&[LegacyScope::SelfRotate]);
    assert_eq!(
        rotate_self.satisfying_scopes(),
        vec![LegacyScope::Api, LegacyScope::SelfRotate]
    );
    let merge = req!(merge_request:update, repository:update);
    assert_eq!(merge.satisfying_scopes(), vec![LegacyScope::Api]);
    assert_eq!(
        merge.permission_list(),
        "merge_request:update,repository:update"
    );
    assert_eq!(
        req!(repository:read).satisfying_scopes(),
        vec![
            LegacyScope::Api,
            LegacyScope::ReadApi,
            LegacyScope::ReadRepository,
            LegacyScope::WriteRepository
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Boundary::within (no escalation)
// ---------------------------------------------------------------------------------------------

#[test]
fn membership_boundaries_are_within_all_memberships_selected_ones_are_not() {
    for inner in [Boundary::PersonalProjects, Boundary::AllMemberships] {
        assert!(inner.within(&Boundary::AllMemberships), "{}", inner.name());
    }
    // A selected list may name public projects the owner is no member of: refused, conservatively.
    assert!(!selected(&[P_IN_G], &[G, SUB]).within(&Boundary::AllMemberships));
}

#[test]
fn all_memberships_is_within_nothing_narrower() {
    assert!(!Boundary::AllMemberships.within(&Boundary::PersonalProjects));
    assert!(!Boundary::AllMemberships.within(&selected(&[P_IN_G], &[ROOT])));
}

#[test]
fn personal_projects_is_within_itself_only_among_narrower_boundaries() {
    assert!(Boundary::PersonalProjects.within(&Boundary::PersonalProjects));
    assert!(!Boundary::PersonalProjects.within(&selected(&[1, 2, 3], &[G])));
    assert!(!selected(&[1], &[]).within(&Boundary::PersonalProjects));
    assert!(!selected(&[], &[]).within(&Boundary::PersonalProjects));
}

#[test]
fn selected_is_within_selected_when_its_lists_are_subsets() {
    let outer = selected(&[P_IN_G, P_IN_SIBLING], &[G, SIBLING]);
    assert!(selected(&[P_IN_G], &[]).within(&outer));
    assert!(selected(&[], &[SIBLING]).within(&outer));
    assert!(selected(&[P_IN_SIBLING, P_IN_G], &[SIBLING, G]).within(&outer));
    assert!(selected(&[], &[]).within(&outer));
    assert!(outer.within(&outer));

    assert!(!selected(&[P_IN_SUB], &[]).within(&selected(&[P_IN_G], &[])));
    assert!(!selected(&[], &[ROOT]).within(&outer));
    assert!(!selected(&[P_IN_G], &[ROOT]).within(&outer));
    // Widening a project to its group is an escalation.
    assert!(!selected(&[], &[G]).within(&selected(&[P_IN_G], &[])));
}

#[test]
fn selected_within_is_conservative_about_hierarchy() {
    // Within cannot see the group tree, so a subgroup or a group's project is not considered
    // within the group, although the outer boundary does reach it. Refusing is safe.
    let outer = selected(&[], &[G]);
    assert!(!selected(&[], &[SUB]).within(&outer));
    assert!(!selected(&[P_IN_SUB], &[]).within(&outer));
}

#[test]
fn within_is_sound_for_boundary_pairs_on_member_targets() {
    // Whenever `within` says yes, every target (that the owner is a member of) the inner boundary
    // contains, the outer boundary contains too.
    let boundaries = [
        Boundary::PersonalProjects,
        Boundary::AllMemberships,
        selected(&[P_IN_G], &[]),
        selected(&[P_IN_G, P_IN_SIBLING], &[]),
        selected(&[], &[G]),
        selected(&[], &[G, SIBLING]),
        selected(&[P_IN_SUB], &[SUB]),
    ];
    let targets = [
        personal_project(1, ME, Visibility::Private, Role::Owner),
        personal_project(2, SOMEONE_ELSE, Visibility::Private, Role::Developer),
        with_ancestors(
            project(P_IN_G, Visibility::Private, Role::Guest),
            &[G, ROOT],
        ),
        with_ancestors(
            project(P_IN_SUB, Visibility::Private, Role::Reporter),
            &[SUB, G, ROOT],
        ),
        with_ancestors(
            project(P_IN_SIBLING, Visibility::Private, Role::Developer),
            &[SIBLING, ROOT],
        ),
        with_ancestors(group(G, Visibility::Private, Role::Owner), &[ROOT]),
        with_ancestors(group(SUB, Visibility::Private, Role::Owner), &[G, ROOT]),
        with_ancestors(group(SIBLING, Visibility::Private, Role::Guest), &[ROOT]),
        group(ROOT, Visibility::Private, Role::Maintainer),
    ];
    for inner in &boundaries {
        for outer in &boundaries {
            if !inner.within(outer) {
                continue;
            }
            for t in &targets {
                assert!(
                    !inner.contains(ME, t) || outer.contains(ME, t),
                    "{inner:?} within {outer:?}, but {} is only in the inner one",
                    t.full_path
                );
            }
        }
    }
}

#[test]
fn selected_naming_a_non_member_project_is_not_within_all_memberships() {
    // An internal project I am not a member of.
    let t = with_ancestors(
        project(P_IN_SIBLING, Visibility::Internal, Role::None),
        &[SIBLING],
    );
    let inner = selected(&[P_IN_SIBLING], &[]);
    let outer = Boundary::AllMemberships;

    // The boundaries disagree on the target ...
    assert!(inner.contains(ME, &t));
    assert!(!outer.contains(ME, &t));
    // ... and so do decisions: a token created from an all_memberships token with the same
    // permission could read an internal project its creator could not (and, on a public project,
    // do writes that need no role).
    let req = req!(issue:read);
    let creator = fine(vec![grant(outer.clone(), &["issue:read"])]);
    let created = fine(vec![grant(inner.clone(), &["issue:read"])]);
    assert_eq!(
        decide(Some(&creator), &req, Some(&t)),
        deny(DenyReason::NotVisible)
    );
    assert_eq!(decide(Some(&created), &req, Some(&t)), Decision::Allow);

    // Therefore `within` must not claim inner ⊆ outer for this owner.
    assert!(!inner.within(&outer));
}

#[test]
fn boundary_names() {
    assert_eq!(Boundary::PersonalProjects.name(), "personal_projects");
    assert_eq!(Boundary::AllMemberships.name(), "all_memberships");
    assert_eq!(selected(&[], &[]).name(), "selected");
}
