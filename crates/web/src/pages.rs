//! Page templates of the web UI and the plain view models behind them.
//!
//! Every page struct derives [`askama::Template`] and carries a [`Nav`] that
//! the base layout (`base.html`) renders as the top bar. All strings are
//! display text that the handlers have already formatted; the templates only
//! lay them out, and askama HTML-escapes every value they print.

use askama::Template;

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

/// What the base layout needs on every page: who is signed in, the CSRF
/// token for POST forms, and a one-off notice.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The signed-in user, or `None` for an anonymous visitor.
    pub user: Option<NavUser>,
    /// The value of every form's hidden `authenticity_token` field.
    pub csrf: String,
    /// A notice shown at the top of the page (e.g. "Token revoked.").
    pub flash: Option<String>,
}

/// The signed-in user as the top bar shows them.
#[derive(Debug, Clone, Default)]
pub struct NavUser {
    /// The login name.
    pub username: String,
    /// The display name.
    pub name: String,
    /// Whether the user is an instance administrator.
    pub is_admin: bool,
}

/// One tab of a tab bar (project pages) or one filter link (issue lists).
#[derive(Debug, Clone, Default)]
pub struct Tab {
    /// The visible text.
    pub label: String,
    /// Where the tab links to.
    pub url: String,
    /// Whether this is the current tab (rendered with `aria-current="page"`).
    pub active: bool,
}

/// Builds the state filter links of a list page from `(label, state)` pairs.
fn state_filters(options: &[(&str, &str)], current: &str) -> Vec<Tab> {
    let current = if current.is_empty() {
        "opened"
    } else {
        current
    };
    options
        .iter()
        .map(|(label, state)| Tab {
            label: (*label).to_owned(),
            url: format!("?state={state}"),
            active: *state == current,
        })
        .collect()
}

/// The badge class of a pipeline or job status.
fn status_class(status: &str) -> &'static str {
    match status {
        "success" | "passed" => "badge-success",
        "failed" => "badge-failed",
        "running" => "badge-running",
        "manual" => "badge-manual",
        _ => "badge-neutral",
    }
}

/// The badge class of an issue or merge request state.
fn state_class(state: &str) -> &'static str {
    match state {
        "opened" | "open" => "badge-success",
        "merged" => "badge-manual",
        "closed" => "badge-failed",
        _ => "badge-neutral",
    }
}

// ---------------------------------------------------------------------------
// Sign in, home
// ---------------------------------------------------------------------------

/// The sign-in form.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    /// The top bar.
    pub nav: Nav,
    /// The username typed before (kept after a failed attempt).
    pub username: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// The list of the user's projects.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The top bar.
    pub nav: Nav,
    /// The projects the user is a member of.
    pub projects: Vec<ProjectItem>,
}

/// One row of the project list.
#[derive(Debug, Clone, Default)]
pub struct ProjectItem {
    /// The project's name.
    pub name: String,
    /// Its full path, e.g. `acme/anvil`.
    pub full_path: String,
    /// Its page.
    pub url: String,
    /// "Private", "Internal" or "Public".
    pub visibility: String,
    /// The user's role in it, e.g. "Maintainer".
    pub role: String,
    /// Its description.
    pub description: String,
}

// ---------------------------------------------------------------------------
// Project pages
// ---------------------------------------------------------------------------

/// The header and tab bar shared by all project pages.
#[derive(Debug, Clone, Default)]
pub struct ProjectHeader {
    /// The project's name.
    pub name: String,
    /// Its full path, e.g. `acme/anvil`.
    pub full_path: String,
    /// Its page.
    pub url: String,
    /// "Private", "Internal" or "Public".
    pub visibility: String,
    /// Its description.
    pub description: String,
    /// The tab bar (Overview, Issues, Merge requests, …).
    pub tabs: Vec<Tab>,
}

/// A project's overview.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "project.html")]
pub struct ProjectPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// A hint about the README or how to push, shown under the header.
    pub readme_hint: String,
    /// Summary counts, e.g. `("Open issues", 3)`.
    pub counts: Vec<(String, usize)>,
}

/// A project's issue list.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "issues.html")]
pub struct IssuesPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The issues matching the filter.
    pub issues: Vec<IssueItem>,
    /// The current filter: "opened", "closed" or "all".
    pub state: String,
}

impl IssuesPage {
    /// The Open / Closed / All filter links, the current one active.
    pub fn filters(&self) -> Vec<Tab> {
        state_filters(
            &[("Open", "opened"), ("Closed", "closed"), ("All", "all")],
            &self.state,
        )
    }
}

/// One issue in a list or on its own page.
#[derive(Debug, Clone, Default)]
pub struct IssueItem {
    /// The project-scoped number.
    pub iid: i64,
    /// The title.
    pub title: String,
    /// Its page.
    pub url: String,
    /// "opened" or "closed".
    pub state: String,
    /// The author's username.
    pub author: String,
    /// The label names.
    pub labels: Vec<String>,
    /// When it was opened.
    pub created_at: String,
}

impl IssueItem {
    /// The badge class of the state.
    pub fn state_class(&self) -> &'static str {
        state_class(&self.state)
    }
}

/// One issue with its description and notes.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "issue.html")]
pub struct IssuePage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The issue.
    pub issue: IssueItem,
    /// Its description, shown with whitespace preserved.
    pub description: String,
    /// Its comments, oldest first.
    pub notes: Vec<NoteItem>,
}

/// A comment on an issue or merge request.
#[derive(Debug, Clone, Default)]
pub struct NoteItem {
    /// The author's username.
    pub author: String,
    /// When it was written.
    pub created_at: String,
    /// The text, shown with whitespace preserved.
    pub body: String,
}

/// A project's merge request list.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "merge_requests.html")]
pub struct MergeRequestsPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The merge requests matching the filter.
    pub merge_requests: Vec<MergeRequestItem>,
    /// The current filter: "opened", "merged", "closed" or "all".
    pub state: String,
}

impl MergeRequestsPage {
    /// The Open / Merged / Closed / All filter links, the current one active.
    pub fn filters(&self) -> Vec<Tab> {
        state_filters(
            &[
                ("Open", "opened"),
                ("Merged", "merged"),
                ("Closed", "closed"),
                ("All", "all"),
            ],
            &self.state,
        )
    }
}

/// One merge request in a list or on its own page.
#[derive(Debug, Clone, Default)]
pub struct MergeRequestItem {
    /// The project-scoped number.
    pub iid: i64,
    /// The title.
    pub title: String,
    /// Its page.
    pub url: String,
    /// "opened", "merged" or "closed".
    pub state: String,
    /// The author's username.
    pub author: String,
    /// The branch to merge.
    pub source_branch: String,
    /// The branch to merge into.
    pub target_branch: String,
    /// When it was opened.
    pub created_at: String,
}

impl MergeRequestItem {
    /// The badge class of the state.
    pub fn state_class(&self) -> &'static str {
        state_class(&self.state)
    }
}

/// One merge request with its description and notes.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "merge_request.html")]
pub struct MergeRequestPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The merge request.
    pub merge_request: MergeRequestItem,
    /// Its description, shown with whitespace preserved.
    pub description: String,
    /// Its comments, oldest first.
    pub notes: Vec<NoteItem>,
}

/// A project's pipeline list.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "pipelines.html")]
pub struct PipelinesPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The pipelines, newest first.
    pub pipelines: Vec<PipelineItem>,
}

/// One pipeline in a list or on its own page.
#[derive(Debug, Clone, Default)]
pub struct PipelineItem {
    /// The instance-wide id.
    pub id: i64,
    /// The project-scoped number.
    pub iid: i64,
    /// Its page.
    pub url: String,
    /// "success", "failed", "running", "pending", "created", "canceled",
    /// "skipped" or "manual".
    pub status: String,
    /// The branch or tag it ran for.
    pub git_ref: String,
    /// The first characters of the commit SHA.
    pub sha_short: String,
    /// What started it, e.g. "push".
    pub source: String,
    /// When it was created.
    pub created_at: String,
}

impl PipelineItem {
    /// The badge class of the status.
    pub fn status_class(&self) -> &'static str {
        status_class(&self.status)
    }
}

/// One pipeline with its stages and jobs.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "pipeline.html")]
pub struct PipelinePage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The pipeline.
    pub pipeline: PipelineItem,
    /// Its stages in order.
    pub stages: Vec<StageView>,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, Default)]
pub struct StageView {
    /// The stage name, e.g. "test".
    pub name: String,
    /// Its jobs.
    pub jobs: Vec<JobItem>,
}

/// One job of a stage.
#[derive(Debug, Clone, Default)]
pub struct JobItem {
    /// The job id.
    pub id: i64,
    /// The job name.
    pub name: String,
    /// Its status (same values as [`PipelineItem::status`]).
    pub status: String,
    /// How long it ran, e.g. "1m 12s" (empty when it has not run).
    pub duration: String,
}

impl JobItem {
    /// The badge class of the status.
    pub fn status_class(&self) -> &'static str {
        status_class(&self.status)
    }
}

/// A project's container registry.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "registry.html")]
pub struct RegistryPage {
    /// The top bar.
    pub nav: Nav,
    /// The project header.
    pub project: ProjectHeader,
    /// The image repositories of the project.
    pub repositories: Vec<ImageRepositoryItem>,
}

/// One image repository.
#[derive(Debug, Clone, Default)]
pub struct ImageRepositoryItem {
    /// Its path, e.g. `acme/anvil/app`.
    pub path: String,
    /// What to `docker pull`, e.g. `127.0.0.1:8080/acme/anvil/app`.
    pub location: String,
    /// Its tags.
    pub tags: Vec<ImageTagItem>,
}

/// One tag of an image repository.
#[derive(Debug, Clone, Default)]
pub struct ImageTagItem {
    /// The tag, e.g. `latest`.
    pub name: String,
    /// The first characters of the manifest digest.
    pub digest_short: String,
    /// The total size, e.g. "12.4 MiB".
    pub size: String,
    /// When it was pushed.
    pub created_at: String,
}

// ---------------------------------------------------------------------------
// Personal access tokens
// ---------------------------------------------------------------------------

/// The personal access token list and the form to add one.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    /// The top bar.
    pub nav: Nav,
    /// The user's tokens, active and inactive.
    pub tokens: Vec<TokenView>,
    /// The new token form (with the posted values after an error).
    pub form: TokenForm,
    /// The rows of the permission checkbox grid.
    pub resources: Vec<ResourceActions>,
    /// The legacy scopes to choose from.
    pub legacy_scopes: Vec<ScopeOption>,
}

impl TokensPage {
    /// The tokens that can still be used.
    pub fn active_tokens(&self) -> Vec<&TokenView> {
        self.tokens.iter().filter(|t| t.active).collect()
    }

    /// The revoked and expired tokens.
    pub fn inactive_tokens(&self) -> Vec<&TokenView> {
        self.tokens.iter().filter(|t| !t.active).collect()
    }
}

/// One personal access token as the list shows it.
#[derive(Debug, Clone, Default)]
pub struct TokenView {
    /// The token id.
    pub id: i64,
    /// The name its owner gave it.
    pub name: String,
    /// "fine_grained" or "legacy".
    pub kind: String,
    /// "Fine-grained" or "Legacy".
    pub kind_label: String,
    /// The boundary in words, e.g. "Selected projects and groups".
    pub boundary: String,
    /// The full paths of the selected projects and groups.
    pub targets: Vec<String>,
    /// The permission grid of a fine-grained token.
    pub grid: Vec<GridRow>,
    /// The scopes of a legacy token.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: String,
    /// When it expires.
    pub expires_at: String,
    /// When it was last used, `None` when never.
    pub last_used_at: Option<String>,
    /// Whether it can still be used.
    pub active: bool,
    /// "active", "revoked" or "expired".
    pub status: String,
    /// Why it is over-privileged (empty when it is not).
    pub flags: Vec<String>,
    /// Where the Rotate form posts.
    pub rotate_url: String,
    /// The "Trim to used" confirmation page.
    pub trim_url: String,
    /// The "Revoke" confirmation page.
    pub revoke_url: String,
}

impl TokenView {
    /// Whether this is a legacy (scoped) token.
    pub fn is_legacy(&self) -> bool {
        self.kind == "legacy"
    }

    /// The badge class of the token type.
    pub fn kind_class(&self) -> &'static str {
        if self.is_legacy() {
            "badge-legacy"
        } else {
            "badge-fine"
        }
    }

    /// The last use, or "Never".
    pub fn last_used(&self) -> &str {
        self.last_used_at.as_deref().unwrap_or("Never")
    }

    /// The grid rows with at least one granted action (the rest are left out
    /// to keep the grid compact).
    pub fn granted_rows(&self) -> Vec<&GridRow> {
        self.grid.iter().filter(|r| r.any_granted()).collect()
    }

    /// The status in words, e.g. "Revoked".
    pub fn status_label(&self) -> &str {
        match self.status.as_str() {
            "revoked" => "Revoked",
            "expired" => "Expired",
            "active" => "Active",
            other => other,
        }
    }

    /// The badge class of the status.
    pub fn status_class(&self) -> &'static str {
        match self.status.as_str() {
            "revoked" => "badge-revoked",
            "expired" => "badge-expired",
            _ => "badge-success",
        }
    }
}

/// One resource's row of a token's permission grid.
#[derive(Debug, Clone, Default)]
pub struct GridRow {
    /// The resource, e.g. "issue".
    pub resource: String,
    /// Its cells, in create / read / update / delete order.
    pub cells: Vec<GridCell>,
}

impl GridRow {
    /// Whether any action of this resource is granted.
    pub fn any_granted(&self) -> bool {
        self.cells.iter().any(|c| c.state.is_granted())
    }

    /// The accessible name of a cell, e.g. "issue read: granted, used in the
    /// last 30 days".
    pub fn cell_label(&self, cell: &GridCell) -> String {
        format!(
            "{} {}: {}",
            self.resource,
            cell.action,
            cell.state.describe()
        )
    }
}

/// One cell of a token's permission grid.
#[derive(Debug, Clone, Default)]
pub struct GridCell {
    /// The action: "create", "read", "update" or "delete".
    pub action: String,
    /// Its column letter: "C", "R", "U" or "D".
    pub letter: String,
    /// Whether it is granted and used.
    pub state: CellState,
}

impl GridCell {
    /// What the cell shows: its letter when granted, a dash when not, nothing
    /// when the action does not exist for the resource.
    pub fn display(&self) -> &str {
        match self.state {
            CellState::Used | CellState::Unused => &self.letter,
            CellState::NotGranted => "–",
            CellState::NotApplicable => "",
        }
    }

    /// The CSS class of the cell.
    pub fn class(&self) -> &'static str {
        match self.state {
            CellState::Used => "cell-used",
            CellState::Unused => "cell-unused",
            CellState::NotGranted => "cell-none",
            CellState::NotApplicable => "cell-na",
        }
    }
}

/// Whether a token's action is granted, and used in the last 30 days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CellState {
    /// Not granted.
    #[default]
    NotGranted,
    /// Granted and used in the last 30 days.
    Used,
    /// Granted but not used in the last 30 days.
    Unused,
    /// The action does not exist for the resource (e.g. `user` create).
    NotApplicable,
}

impl CellState {
    /// Whether the action is granted.
    pub fn is_granted(self) -> bool {
        matches!(self, CellState::Used | CellState::Unused)
    }

    /// The state in words, for the accessible name of a grid cell.
    pub fn describe(self) -> &'static str {
        match self {
            CellState::Used => "granted, used in the last 30 days",
            CellState::Unused => "granted, not used in the last 30 days",
            CellState::NotGranted => "not granted",
            CellState::NotApplicable => "not applicable",
        }
    }
}

/// The values of the new token form.
#[derive(Debug, Clone, Default)]
pub struct TokenForm {
    /// The token name.
    pub name: String,
    /// The expiration date, `YYYY-MM-DD`.
    pub expires_at: String,
    /// The latest allowed expiration date, `YYYY-MM-DD`.
    pub max_expires_at: String,
    /// "fine_grained" or "legacy" (empty means fine-grained).
    pub token_type: String,
    /// "personal_projects", "all_memberships" or "selected" (empty means
    /// personal projects).
    pub boundary: String,
    /// Comma-separated full paths of the selected projects.
    pub projects: String,
    /// Comma-separated full paths of the selected groups.
    pub groups: String,
    /// The checked permissions, e.g. "issue:read".
    pub checked: Vec<String>,
    /// The checked legacy scopes.
    pub scopes: Vec<String>,
    /// Why the last submission was refused.
    pub error: Option<String>,
}

impl TokenForm {
    /// Whether `token_type` is `kind` (an empty type counts as fine-grained).
    pub fn type_is(&self, kind: &str) -> bool {
        let current = if self.token_type.is_empty() {
            "fine_grained"
        } else {
            self.token_type.as_str()
        };
        current == kind
    }

    /// Whether `boundary` is `boundary` (empty counts as personal projects).
    pub fn boundary_is(&self, boundary: &str) -> bool {
        let current = if self.boundary.is_empty() {
            "personal_projects"
        } else {
            self.boundary.as_str()
        };
        current == boundary
    }

    /// Whether the permission `value` (e.g. "issue:read") is checked.
    pub fn is_checked(&self, value: &str) -> bool {
        self.checked.iter().any(|c| c == value)
    }

    /// Whether the legacy scope `name` is checked.
    pub fn has_scope(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s == name)
    }
}

/// One row of the permission checkbox grid.
#[derive(Debug, Clone, Default)]
pub struct ResourceActions {
    /// The resource, e.g. "merge_request".
    pub resource: String,
    /// Its label, e.g. "Merge requests".
    pub label: String,
    /// Its actions, in create / read / update / delete order.
    pub actions: Vec<ActionOption>,
}

/// One cell of the permission checkbox grid.
#[derive(Debug, Clone, Default)]
pub struct ActionOption {
    /// The action, e.g. "read".
    pub action: String,
    /// The checkbox value, e.g. "issue:read".
    pub value: String,
    /// Whether the action exists for the resource.
    pub available: bool,
}

/// One legacy scope to choose from.
#[derive(Debug, Clone, Default)]
pub struct ScopeOption {
    /// The scope, e.g. "read_api".
    pub name: String,
    /// What it grants.
    pub description: String,
}

/// The one-time display of a new token's secret.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "token_value.html")]
pub struct TokenValuePage {
    /// The top bar.
    pub nav: Nav,
    /// E.g. "Your new personal access token".
    pub heading: String,
    /// The token's name.
    pub name: String,
    /// The secret.
    pub value: String,
    /// When it expires.
    pub expires_at: String,
}

/// A confirmation step before a destructive or far-reaching action.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    /// The top bar.
    pub nav: Nav,
    /// The page heading.
    pub heading: String,
    /// What will happen.
    pub message: String,
    /// Further facts, one per item.
    pub details: Vec<String>,
    /// What the action takes away.
    pub removed: Vec<String>,
    /// What the action keeps.
    pub kept: Vec<String>,
    /// Where the confirmation form posts.
    pub action_url: String,
    /// The confirm button's text.
    pub button_label: String,
    /// Whether the button is styled as dangerous.
    pub danger: bool,
    /// Where "Cancel" goes.
    pub cancel_url: String,
}

// ---------------------------------------------------------------------------
// Coverage, explain, errors
// ---------------------------------------------------------------------------

/// Which endpoints accept fine-grained tokens, per resource and surface.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "coverage.html")]
pub struct CoveragePage {
    /// The top bar.
    pub nav: Nav,
    /// The surfaces, in column order: rest, graphql, git, registry, web.
    pub surfaces: Vec<String>,
    /// The totals per surface, in the order of `surfaces`.
    pub totals: Vec<CoverageCell>,
    /// One row per resource.
    pub resources: Vec<CoverageResourceRow>,
}

/// One resource's coverage row.
#[derive(Debug, Clone, Default)]
pub struct CoverageResourceRow {
    /// The resource, e.g. "issue".
    pub resource: String,
    /// One cell per surface, in the order of [`CoveragePage::surfaces`].
    pub cells: Vec<CoverageCell>,
}

/// The coverage of one resource (or the total) on one surface.
#[derive(Debug, Clone, Default)]
pub struct CoverageCell {
    /// The surface, e.g. "rest".
    pub surface: String,
    /// How many endpoints accept fine-grained tokens.
    pub covered: usize,
    /// How many endpoints there are.
    pub total: usize,
    /// `covered / total` in percent, e.g. "100.0".
    pub percent: String,
    /// The endpoints behind the numbers.
    pub endpoints: Vec<CoverageEndpointItem>,
}

impl CoverageCell {
    /// Whether the surface has no endpoint for the resource.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// E.g. "3 / 4 (75.0%)".
    pub fn summary(&self) -> String {
        format!("{} / {} ({}%)", self.covered, self.total, self.percent)
    }
}

/// One endpoint behind a coverage number.
#[derive(Debug, Clone, Default)]
pub struct CoverageEndpointItem {
    /// The HTTP method (or QUERY / MUTATION for GraphQL fields).
    pub method: String,
    /// The path or field name.
    pub path: String,
    /// The permissions it requires, e.g. "issue:read".
    pub permissions: String,
    /// Whether it accepts fine-grained tokens.
    pub covered: bool,
}

/// The decision explainer: which checks a token passes for one request.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "explain.html")]
pub struct ExplainPage {
    /// The top bar.
    pub nav: Nav,
    /// The user's tokens to choose from.
    pub tokens: Vec<TokenChoice>,
    /// The chosen token's id.
    pub token_id: String,
    /// The chosen method (GET … PATCH, QUERY, MUTATION).
    pub method: String,
    /// The request path or GraphQL field.
    pub path: String,
    /// A GraphQL field name given apart from `path` (the form itself sends
    /// the field in `path`; this one is kept for links and is not rendered).
    pub field: String,
    /// The project full path for a GraphQL field.
    pub project: String,
    /// The explanation, once the form was submitted.
    pub result: Option<ExplainView>,
}

/// One HTTP method option of the explainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodOption {
    /// The submitted value.
    pub value: &'static str,
    /// The visible text.
    pub label: &'static str,
}

impl ExplainPage {
    /// The HTTP methods.
    pub fn http_methods(&self) -> [MethodOption; 5] {
        ["GET", "POST", "PUT", "DELETE", "PATCH"].map(|m| MethodOption { value: m, label: m })
    }

    /// The GraphQL operation kinds.
    pub fn graphql_methods(&self) -> [MethodOption; 2] {
        [
            MethodOption {
                value: "QUERY",
                label: "Query",
            },
            MethodOption {
                value: "MUTATION",
                label: "Mutation",
            },
        ]
    }

    /// Whether `method` is the chosen method (GET when none is chosen).
    pub fn method_is(&self, method: &str) -> bool {
        let current = if self.method.is_empty() {
            "GET"
        } else {
            self.method.as_str()
        };
        current.eq_ignore_ascii_case(method)
    }
}

/// A token in the explainer's token select.
#[derive(Debug, Clone, Default)]
pub struct TokenChoice {
    /// The token id as submitted.
    pub id: String,
    /// The visible text, e.g. "ci-bot (fine-grained)".
    pub label: String,
}

/// The outcome of one explained request.
#[derive(Debug, Clone, Default)]
pub struct ExplainView {
    /// Whether the request would be allowed.
    pub allowed: bool,
    /// The decision code, e.g. "missing_permission".
    pub decision: String,
    /// The HTTP status the request would get.
    pub status: u16,
    /// The matched endpoint, e.g. "GET /projects/:id/issues".
    pub endpoint: String,
    /// The permissions it requires.
    pub required: String,
    /// The required permissions the token lacks (empty when none).
    pub missing: String,
    /// The checks, in the order they ran.
    pub steps: Vec<ExplainStep>,
}

/// One check of an explained decision.
#[derive(Debug, Clone, Default)]
pub struct ExplainStep {
    /// The check, e.g. "boundary".
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What it found.
    pub detail: String,
}

/// An error page (404, 403, 500, …).
#[derive(Debug, Clone, Default, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The top bar.
    pub nav: Nav,
    /// The HTTP status.
    pub status: u16,
    /// E.g. "Not found".
    pub title: String,
    /// What went wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSRF: &str = "csrf-token-value-123";
    const CSRF_FIELD: &str =
        r#"<input type="hidden" name="authenticity_token" value="csrf-token-value-123">"#;
    const SECRET: &str = "glpat-SECRETSECRETSECRET0001";

    fn nav() -> Nav {
        Nav {
            user: Some(NavUser {
                username: "alice".into(),
                name: "Alice Liddell".into(),
                is_admin: false,
            }),
            csrf: CSRF.into(),
            flash: None,
        }
    }

    fn anonymous() -> Nav {
        Nav {
            user: None,
            csrf: CSRF.into(),
            flash: None,
        }
    }

    fn header(active: &str) -> ProjectHeader {
        let tabs = [
            "Overview",
            "Issues",
            "Merge requests",
            "Pipelines",
            "Registry",
        ]
        .iter()
        .map(|label| Tab {
            label: (*label).into(),
            url: format!("/acme/anvil/-/{}", label.to_lowercase()),
            active: *label == active,
        })
        .collect();
        ProjectHeader {
            name: "Anvil".into(),
            full_path: "acme/anvil".into(),
            url: "/acme/anvil".into(),
            visibility: "Private".into(),
            description: "Heavy & <reliable>".into(),
            tabs,
        }
    }

    fn issue() -> IssueItem {
        IssueItem {
            iid: 3,
            title: "Crash on <script>alert(1)</script>".into(),
            url: "/acme/anvil/-/issues/3".into(),
            state: "opened".into(),
            author: "bob".into(),
            labels: vec!["bug".into(), "p1".into()],
            created_at: "2026-11-02".into(),
        }
    }

    fn merge_request() -> MergeRequestItem {
        MergeRequestItem {
            iid: 7,
            title: "Add hammer".into(),
            url: "/acme/anvil/-/merge_requests/7".into(),
            state: "merged".into(),
            author: "carol".into(),
            source_branch: "feature/hammer".into(),
            target_branch: "main".into(),
            created_at: "2026-11-03".into(),
        }
    }

    fn pipeline(id: i64, status: &str) -> PipelineItem {
        PipelineItem {
            id,
            iid: id - 40,
            url: format!("/acme/anvil/-/pipelines/{id}"),
            status: status.into(),
            git_ref: "main".into(),
            sha_short: "1a2b3c4d".into(),
            source: "push".into(),
            created_at: "2026-11-04 10:00".into(),
        }
    }

    fn cell(action: &str, state: CellState) -> GridCell {
        GridCell {
            action: action.into(),
            letter: action[..1].to_uppercase(),
            state,
        }
    }

    fn row(resource: &str, states: [CellState; 4]) -> GridRow {
        GridRow {
            resource: resource.into(),
            cells: ["create", "read", "update", "delete"]
                .iter()
                .zip(states)
                .map(|(a, s)| cell(a, s))
                .collect(),
        }
    }

    fn fine_token(name: &str) -> TokenView {
        use CellState::*;
        TokenView {
            id: 1,
            name: name.into(),
            kind: "fine_grained".into(),
            kind_label: "Fine-grained".into(),
            boundary: "Selected projects and groups".into(),
            targets: vec!["acme/anvil".into(), "tools".into()],
            grid: vec![
                row("issue", [NotGranted, Used, NotGranted, Unused]),
                row("pipeline", [NotGranted; 4]),
                row("user", [NotApplicable, Used, NotGranted, NotApplicable]),
            ],
            scopes: vec![],
            created_at: "2026-10-01".into(),
            expires_at: "2027-01-01".into(),
            last_used_at: Some("2026-11-20".into()),
            active: true,
            status: "active".into(),
            flags: vec!["issue delete not used in the last 30 days".into()],
            rotate_url: "/-/user_settings/personal_access_tokens/1/rotate".into(),
            trim_url: "/-/user_settings/personal_access_tokens/1/trim".into(),
            revoke_url: "/-/user_settings/personal_access_tokens/1/revoke".into(),
        }
    }

    fn legacy_token() -> TokenView {
        TokenView {
            id: 2,
            name: "old-ci".into(),
            kind: "legacy".into(),
            kind_label: "Legacy".into(),
            boundary: "All memberships".into(),
            scopes: vec!["api".into(), "read_registry".into()],
            created_at: "2025-01-01".into(),
            expires_at: "2025-06-01".into(),
            last_used_at: None,
            active: false,
            status: "expired".into(),
            ..TokenView::default()
        }
    }

    fn resources() -> Vec<ResourceActions> {
        ["issue", "merge_request", "user"]
            .iter()
            .map(|r| ResourceActions {
                resource: (*r).into(),
                label: r.replace('_', " "),
                actions: ["create", "read", "update", "delete"]
                    .iter()
                    .map(|a| ActionOption {
                        action: (*a).into(),
                        value: format!("{r}:{a}"),
                        available: !(*r == "user" && (*a == "create" || *a == "delete")),
                    })
                    .collect(),
            })
            .collect()
    }

    fn tokens_page() -> TokensPage {
        TokensPage {
            nav: nav(),
            tokens: vec![fine_token("<b>x</b>"), legacy_token()],
            form: TokenForm {
                name: "deploy \"bot\"".into(),
                expires_at: "2026-12-31".into(),
                max_expires_at: "2027-11-30".into(),
                token_type: "fine_grained".into(),
                boundary: "selected".into(),
                projects: "acme/anvil".into(),
                groups: String::new(),
                checked: vec!["issue:read".into(), "merge_request:create".into()],
                scopes: vec!["read_api".into()],
                error: Some("Select at least one permission.".into()),
            },
            resources: resources(),
            legacy_scopes: vec![
                ScopeOption {
                    name: "api".into(),
                    description: "Full read and write access to the API.".into(),
                },
                ScopeOption {
                    name: "read_api".into(),
                    description: "Read access to the API.".into(),
                },
            ],
        }
    }

    /// Renders a template, failing the test on a render error.
    fn render(t: &impl Template) -> String {
        t.render().expect("template renders")
    }

    /// Asserts the common layout: doctype, assets, no inline script or style.
    fn assert_layout(html: &str) {
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains(r#"<html lang="en">"#));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains(r#"<meta name="viewport""#));
        assert!(html.contains(r#"<link rel="icon" href="data:,">"#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/-/static/app.css">"#));
        assert!(html.contains(r#"<script src="/-/static/app.js" defer></script>"#));
        assert_eq!(html.matches("<script").count(), 1, "only the app.js script");
        assert!(!html.contains("style="), "no inline styles");
        assert!(!html.contains("onclick"), "no inline handlers");
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains(SECRET), "the secret shows only once");
    }

    /// Asserts that every POST form carries the CSRF field.
    fn assert_post_forms_have_csrf(html: &str) {
        let posts = html.matches(r#"method="post""#).count();
        assert!(posts > 0);
        assert_eq!(html.matches(CSRF_FIELD).count(), posts, "{html}");
    }

    #[test]
    fn layout_signed_in_and_anonymous() {
        let mut page = ErrorPage {
            nav: nav(),
            status: 404,
            title: "Not found".into(),
            message: "No such project.".into(),
        };
        page.nav.flash = Some("Token <revoked>.".into());
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("<title>404 Not found · tinforge</title>"));
        for link in [
            r#"href="/">Projects<"#,
            r#"href="/-/user_settings/personal_access_tokens">Access tokens<"#,
            r#"href="/-/token_coverage">Coverage<"#,
            r#"href="/-/explain">Explain<"#,
        ] {
            assert!(html.contains(link), "{link}");
        }
        assert!(html.contains(">alice<"));
        assert!(html.contains(r#"action="/users/sign_out""#));
        assert!(html.contains(">Sign out</button>"));
        // askama escapes with numeric character references.
        assert!(html.contains("Token &#60;revoked&#62;."));
        assert_post_forms_have_csrf(&html);
        assert!(html.contains("<h1>404 Not found</h1>"));
        assert!(html.contains(r#"<a href="/">Back to the home page</a>"#));

        page.nav = anonymous();
        let html = render(&page);
        assert!(html.contains(r#"href="/users/sign_in">Sign in<"#));
        assert!(html.contains(r#"href="/-/token_coverage">Coverage<"#));
        assert!(!html.contains("Access tokens"));
        assert!(!html.contains("Sign out"));
        assert!(!html.contains(r#"class="notice""#));
    }

    #[test]
    fn sign_in_page() {
        let html = render(&SignInPage {
            nav: anonymous(),
            username: "al\"ice".into(),
            error: Some("Invalid login or password.".into()),
        });
        assert_layout(&html);
        assert!(html.contains("<h1>Sign in</h1>"));
        assert!(html.contains(r#"action="/users/sign_in""#));
        assert!(html.contains(r#"<label for="username">Username or email</label>"#));
        assert!(html.contains(r#"<label for="password">Password</label>"#));
        assert!(html.contains(r#"type="password" id="password" name="password""#));
        assert!(html.contains(r#"role="alert">Invalid login or password.<"#));
        assert!(!html.contains("al\"ice"), "attribute value escaped");
        assert!(html.contains(">Sign in</button>"));
        assert_post_forms_have_csrf(&html);
    }

    #[test]
    fn home_page_lists_projects_or_empty_state() {
        let html = render(&HomePage {
            nav: nav(),
            projects: vec![ProjectItem {
                name: "Anvil".into(),
                full_path: "acme/anvil".into(),
                url: "/acme/anvil".into(),
                visibility: "Private".into(),
                role: "Maintainer".into(),
                description: "<i>heavy</i>".into(),
            }],
        });
        assert_layout(&html);
        assert!(html.contains("<h1>Your projects</h1>"));
        assert!(html.contains(r#"<a href="/acme/anvil">Anvil</a>"#));
        assert!(html.contains("Maintainer"));
        assert!(!html.contains("<i>heavy</i>"));
        assert!(html.contains(r#"<th scope="col">Your role</th>"#));
        assert!(!html.contains("You are not a member"));

        let html = render(&HomePage {
            nav: nav(),
            projects: vec![],
        });
        assert!(html.contains("You are not a member of any project yet."));
        assert!(!html.contains("<table"));
    }

    #[test]
    fn project_page_has_tabs_and_counts() {
        let html = render(&ProjectPage {
            nav: nav(),
            project: header("Overview"),
            readme_hint: "Push a README.md to describe this project.".into(),
            counts: vec![("Open issues".into(), 3), ("Open merge requests".into(), 1)],
        });
        assert_layout(&html);
        assert!(html.contains("<h1>Anvil "));
        assert!(html.contains("Heavy &#38; &#60;reliable&#62;"));
        assert!(html.contains(
            r#"<a href="/acme/anvil/-/overview" class="active" aria-current="page">Overview</a>"#
        ));
        assert_eq!(html.matches("aria-current").count(), 1);
        assert!(html.contains("<dt>Open issues</dt><dd>3</dd>"));
        assert!(html.contains("Push a README.md"));
    }

    #[test]
    fn issues_page_filters_and_escapes_titles() {
        let page = IssuesPage {
            nav: nav(),
            project: header("Issues"),
            issues: vec![issue()],
            state: "closed".into(),
        };
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("#3"));
        assert!(html.contains(r#"href="/acme/anvil/-/issues/3""#));
        assert!(!html.contains("<script>alert"), "titles are escaped");
        assert!(html.contains(r#"<span class="badge badge-success">opened</span>"#));
        assert!(html.contains(r#"<span class="badge badge-label">bug</span>"#));
        assert!(
            html.contains(
                r#"<a href="?state=closed" class="active" aria-current="page">Closed</a>"#
            )
        );
        assert!(html.contains(r#"<a href="?state=opened">Open</a>"#));
        assert!(html.contains(r#"<a href="?state=all">All</a>"#));

        let empty = IssuesPage {
            issues: vec![],
            state: String::new(),
            ..page
        };
        let html = render(&empty);
        assert!(html.contains("No issues match this filter."));
        assert!(
            html.contains(r#"href="?state=opened" class="active""#),
            "default is open"
        );
    }

    #[test]
    fn issue_page_shows_description_and_notes() {
        let html = render(&IssuePage {
            nav: nav(),
            project: header("Issues"),
            issue: issue(),
            description: "Steps:\n  1. run\n  2. <crash>".into(),
            notes: vec![NoteItem {
                author: "dave".into(),
                created_at: "2026-11-05".into(),
                body: "Confirmed.\nAlso on main.".into(),
            }],
        });
        assert_layout(&html);
        assert!(html.contains("<span class=\"muted\">#3</span>"));
        assert!(html.contains("<pre class=\"text\">Steps:\n  1. run\n  2. &#60;crash&#62;</pre>"));
        assert!(html.contains("<strong>dave</strong>"));
        assert!(html.contains("<pre class=\"text\">Confirmed.\nAlso on main.</pre>"));
    }

    #[test]
    fn merge_request_pages() {
        let page = MergeRequestsPage {
            nav: nav(),
            project: header("Merge requests"),
            merge_requests: vec![merge_request()],
            state: "merged".into(),
        };
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("!7"));
        assert!(html.contains("<code>feature/hammer</code> → <code>main</code>"));
        assert!(
            html.contains(
                r#"<a href="?state=merged" class="active" aria-current="page">Merged</a>"#
            )
        );
        for state in ["opened", "closed", "all"] {
            assert!(
                html.contains(&format!(r#"<a href="?state={state}">"#)),
                "{state}"
            );
        }
        let html = render(&MergeRequestsPage {
            merge_requests: vec![],
            ..page
        });
        assert!(html.contains("No merge requests match this filter."));

        let html = render(&MergeRequestPage {
            nav: nav(),
            project: header("Merge requests"),
            merge_request: merge_request(),
            description: String::new(),
            notes: vec![],
        });
        assert_layout(&html);
        assert!(html.contains("<h2>Add hammer <span class=\"muted\">!7</span></h2>"));
        assert!(html.contains("Merges <code>feature/hammer</code> into <code>main</code>"));
        assert!(html.contains("No description."));
        assert!(html.contains("No comments yet."));
    }

    #[test]
    fn pipeline_pages_have_status_badges() {
        let html = render(&PipelinesPage {
            nav: nav(),
            project: header("Pipelines"),
            pipelines: vec![
                pipeline(42, "success"),
                pipeline(43, "failed"),
                pipeline(44, "running"),
                pipeline(45, "manual"),
                pipeline(46, "canceled"),
            ],
        });
        assert_layout(&html);
        assert!(html.contains(r#"<a href="/acme/anvil/-/pipelines/42">#42</a>"#));
        for (class, status) in [
            ("badge-success", "success"),
            ("badge-failed", "failed"),
            ("badge-running", "running"),
            ("badge-manual", "manual"),
            ("badge-neutral", "canceled"),
        ] {
            assert!(html.contains(&format!(r#"<span class="badge {class}">{status}</span>"#)));
        }
        assert!(html.contains("<code>1a2b3c4d</code>"));

        let html = render(&PipelinePage {
            nav: nav(),
            project: header("Pipelines"),
            pipeline: pipeline(42, "failed"),
            stages: vec![
                StageView {
                    name: "build".into(),
                    jobs: vec![JobItem {
                        id: 1,
                        name: "compile".into(),
                        status: "success".into(),
                        duration: "1m 2s".into(),
                    }],
                },
                StageView {
                    name: "test".into(),
                    jobs: vec![JobItem {
                        id: 2,
                        name: "unit".into(),
                        status: "failed".into(),
                        duration: String::new(),
                    }],
                },
            ],
        });
        assert_layout(&html);
        assert!(html.contains(r#"<h3 id="stage-1">build</h3>"#));
        assert!(html.contains(r#"<h3 id="stage-2">test</h3>"#));
        assert!(html.contains(r#"<span class="job-name">compile</span>"#));
        assert!(html.contains("1m 2s"));
        assert!(html.contains(r#"<span class="badge badge-failed">failed</span>"#));
    }

    #[test]
    fn registry_page_has_copy_buttons_and_tags() {
        let page = RegistryPage {
            nav: nav(),
            project: header("Registry"),
            repositories: vec![ImageRepositoryItem {
                path: "acme/anvil/app".into(),
                location: "127.0.0.1:8080/acme/anvil/app".into(),
                tags: vec![ImageTagItem {
                    name: "latest".into(),
                    digest_short: "sha256:abcdef12".into(),
                    size: "12.4 MiB".into(),
                    created_at: "2026-11-06".into(),
                }],
            }],
        };
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("<h2>Container registry</h2>"));
        assert!(
            html.contains(r#"<code id="repo-location-1">127.0.0.1:8080/acme/anvil/app</code>"#)
        );
        assert!(html.contains(r#"data-copy-target="repo-location-1">Copy</button>"#));
        assert!(html.contains("<code>latest</code>"));
        assert!(html.contains("12.4 MiB"));
        let html = render(&RegistryPage {
            repositories: vec![],
            ..page
        });
        assert!(html.contains("No container images in this project yet."));
    }

    #[test]
    fn tokens_page_escapes_names_and_renders_grid() {
        let html = render(&tokens_page());
        assert_layout(&html);
        assert!(html.contains("<h1>Personal access tokens</h1>"));
        // askama writes `<` and `>` as `&#60;` and `&#62;` (same meaning as
        // `&lt;` / `&gt;`).
        assert!(html.contains("<th scope=\"row\">&#60;b&#62;x&#60;/b&#62;</th>"));
        assert!(!html.contains("<b>"), "token names are escaped");
        assert!(!html.contains("<b>x</b>"), "token names are escaped");
        assert!(html.contains("<caption class=\"visually-hidden\">Active tokens</caption>"));
        assert!(html.contains(r#"<span class="badge badge-fine">Fine-grained</span>"#));
        assert!(html.contains("Selected projects and groups"));
        assert!(html.contains("<li><code>acme/anvil</code></li>"));

        // The grid: only granted rows, accessible names per cell.
        assert!(html.contains("issue read: granted, used in the last 30 days"));
        assert!(html.contains("issue delete: granted, not used in the last 30 days"));
        assert!(html.contains("issue update: not granted"));
        assert!(html.contains("user create: not applicable"));
        assert!(
            !html.contains("pipeline read"),
            "ungranted resources are left out"
        );
        assert!(html.contains(r#"<td class="cell-used""#));
        assert!(html.contains(r#"<td class="cell-unused""#));

        // Flags and actions on the active token.
        assert!(html.contains(r#"<span class="badge badge-warn">Over-privileged</span>"#));
        assert!(html.contains("<li>issue delete not used in the last 30 days</li>"));
        assert!(html.contains(r#"action="/-/user_settings/personal_access_tokens/1/rotate""#));
        assert!(html.contains(">Rotate</button>"));
        assert!(html.contains(
            r#"<a class="button button-small" href="/-/user_settings/personal_access_tokens/1/trim">Trim to used</a>"#
        ));
        assert!(html.contains(
            r#"<a class="button button-small button-danger" href="/-/user_settings/personal_access_tokens/1/revoke">Revoke</a>"#
        ));
        assert_eq!(
            html.matches(">Rotate</button>").count(),
            1,
            "no actions when inactive"
        );

        // The inactive legacy token.
        let (_, inactive) = html
            .split_once(r#"<h2 id="inactive-heading">"#)
            .expect("inactive table");
        assert!(inactive.contains(r#"<span class="badge badge-legacy">Legacy</span>"#));
        assert!(inactive.contains(r#"<span class="badge badge-expired">Expired</span>"#));
        assert!(inactive.contains(r#"<span class="badge badge-scope">read_registry</span>"#));
        assert!(inactive.contains(r#"<td class="date">Never</td>"#));
        assert!(
            !inactive
                .split("Add new token")
                .next()
                .unwrap_or("")
                .contains("Rotate")
        );

        assert_post_forms_have_csrf(&html);
    }

    #[test]
    fn new_token_form_keeps_values_and_labels_controls() {
        let html = render(&tokens_page());
        let (_, form) = html
            .split_once(r#"<h2 id="new-token-heading">Add new token</h2>"#)
            .expect("the Add new token heading");
        assert!(form.contains(r#"role="alert">Select at least one permission.<"#));
        assert!(form.contains(r#"action="/-/user_settings/personal_access_tokens""#));
        assert!(form.contains(r#"<label for="token-name">Token name</label>"#));
        assert!(
            form.contains(r#"name="name" value="deploy &#34;bot&#34;" required maxlength="255""#)
        );
        assert!(form.contains(r#"type="date" id="token-expires-at" name="expires_at" value="2026-12-31" max="2027-11-30""#));
        assert!(form.contains("At most until 2027-11-30"));
        assert!(form.contains(r#"value="fine_grained" checked> Fine-grained"#));
        assert!(form.contains(r#"value="legacy"> Legacy"#));
        assert!(form.contains(r#"value="selected" checked> Selected projects and groups"#));
        assert!(form.contains(r#"value="personal_projects"> Personal projects"#));
        assert!(form.contains(r#"id="fine-grained-section""#));
        assert!(form.contains(r#"id="legacy-section""#));
        assert!(form.contains(r#"name="projects" value="acme/anvil""#));
        assert!(form.contains(r#"<label for="target-search">Search projects and groups</label>"#));
        assert!(form.contains(r#"<input type="search" id="target-search" autocomplete="off""#));
        assert!(
            form.contains(r#"<ul id="target-results" class="picker-results" aria-live="polite">"#)
        );

        // Permission checkboxes: accessible names and checked state.
        assert!(form.contains(
            r#"value="issue:read" checked><span class="visually-hidden">issue read</span>"#
        ));
        assert!(form.contains(
            r#"value="merge_request:create" checked><span class="visually-hidden">merge_request create</span>"#
        ));
        assert!(
            form.contains(
                r#"value="issue:delete"><span class="visually-hidden">issue delete</span>"#
            )
        );
        assert!(
            !form.contains(r#"value="user:create""#),
            "unavailable actions have no box"
        );
        assert_eq!(form.matches(r#"name="permissions""#).count(), 10);
        for col in ["Resource", "Create", "Read", "Update", "Delete"] {
            assert!(form.contains(&format!(r#"<th scope="col">{col}</th>"#)));
        }

        // Legacy scopes.
        assert!(form.contains(r#"<label for="scope-api">api</label>"#));
        assert!(form.contains(r#"id="scope-read_api" name="scopes" value="read_api" aria-describedby="scope-read_api-hint" checked>"#));
        assert!(form.contains(
            r#"id="scope-api" name="scopes" value="api" aria-describedby="scope-api-hint">"#
        ));
        assert!(form.contains("Read access to the API."));
        assert!(form.contains(">Create token</button>"));
    }

    #[test]
    fn token_form_defaults_to_fine_grained_personal_projects() {
        let page = TokensPage {
            nav: nav(),
            resources: resources(),
            ..TokensPage::default()
        };
        let html = render(&page);
        assert!(html.contains("You have no active tokens."));
        assert!(!html.contains("Inactive tokens"));
        assert!(html.contains(r#"value="fine_grained" checked>"#));
        assert!(html.contains(r#"value="personal_projects" checked>"#));
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains(r#"" checked><span class="visually-hidden">"#));
    }

    #[test]
    fn token_value_page_shows_the_secret_once_with_copy() {
        let html = TokenValuePage {
            nav: nav(),
            heading: "Your new personal access token".into(),
            name: "<b>x</b>".into(),
            value: SECRET.into(),
            expires_at: "2027-01-01".into(),
        }
        .render()
        .expect("renders");
        assert!(html.contains("<h1>Your new personal access token</h1>"));
        assert!(html.contains(&format!(
            r#"<code id="token-value" class="secret">{SECRET}</code>"#
        )));
        assert!(html.contains(r#"<button type="button" class="button button-primary" data-copy-target="token-value">Copy</button>"#));
        assert!(html.contains("Make sure you save it — you won't be able to access it again."));
        assert!(html.contains(
            r#"<a href="/-/user_settings/personal_access_tokens">Back to access tokens</a>"#
        ));
        assert!(!html.contains("<b>x</b>"));
        assert_eq!(html.matches(SECRET).count(), 1);
        // Every other page runs `assert_layout`, which checks SECRET is absent.
    }

    #[test]
    fn confirm_page_posts_with_csrf() {
        let page = ConfirmPage {
            nav: nav(),
            heading: "Trim token ci-bot to what it used?".into(),
            message: "The token keeps the permissions it used in the last 30 days.".into(),
            details: vec!["The token's value does not change.".into()],
            removed: vec!["issue:delete".into()],
            kept: vec!["issue:read".into()],
            action_url: "/-/user_settings/personal_access_tokens/1/trim".into(),
            button_label: "Trim token".into(),
            danger: false,
            cancel_url: "/-/user_settings/personal_access_tokens".into(),
        };
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("<h1>Trim token ci-bot to what it used?</h1>"));
        assert!(html.contains("Keeps</h2>"));
        assert!(html.contains("Removes</h2>"));
        assert!(html.contains("<li>issue:delete</li>"));
        assert!(html.contains(r#"action="/-/user_settings/personal_access_tokens/1/trim""#));
        assert!(html.contains(r#"class="button button-primary">Trim token</button>"#));
        assert!(html.contains(
            r#"<a class="button" href="/-/user_settings/personal_access_tokens">Cancel</a>"#
        ));
        assert_post_forms_have_csrf(&html);

        let html = render(&ConfirmPage {
            danger: true,
            removed: vec![],
            kept: vec![],
            button_label: "Revoke".into(),
            ..page
        });
        assert!(html.contains(r#"class="button button-danger">Revoke</button>"#));
        assert!(!html.contains("Keeps</h2>"));
        assert!(!html.contains("Removes</h2>"));
    }

    #[test]
    fn coverage_page_has_cells_details_and_totals() {
        let surfaces: Vec<String> = ["rest", "graphql", "git", "registry", "web"]
            .iter()
            .map(|s| (*s).into())
            .collect();
        let cell = |surface: &str, covered: usize, total: usize, percent: &str| CoverageCell {
            surface: surface.into(),
            covered,
            total,
            percent: percent.into(),
            endpoints: (0..total)
                .map(|i| CoverageEndpointItem {
                    method: "GET".into(),
                    path: format!("/projects/:id/issues/{i}"),
                    permissions: "issue:read".into(),
                    covered: i < covered,
                })
                .collect(),
        };
        let html = render(&CoveragePage {
            nav: anonymous(),
            surfaces: surfaces.clone(),
            totals: vec![
                cell("rest", 3, 4, "75.0"),
                cell("graphql", 1, 1, "100.0"),
                cell("git", 0, 0, "0.0"),
                cell("registry", 0, 0, "0.0"),
                cell("web", 0, 0, "0.0"),
            ],
            resources: vec![CoverageResourceRow {
                resource: "issue".into(),
                cells: vec![
                    cell("rest", 3, 4, "75.0"),
                    cell("graphql", 1, 1, "100.0"),
                    cell("git", 0, 0, "0.0"),
                    cell("registry", 0, 0, "0.0"),
                    cell("web", 0, 0, "0.0"),
                ],
            }],
        });
        assert_layout(&html);
        assert!(html.contains("<h1>Token coverage</h1>"));
        assert!(html.contains(r#"<a href="/api/v4/token_coverage">"#));
        for s in &surfaces {
            assert!(html.contains(&format!(r#"<th scope="col">{s}</th>"#)));
        }
        assert!(html.contains(r#"<th scope="row">issue</th>"#));
        assert!(html.contains("<summary>3 / 4 (75.0%)</summary>"));
        assert!(html.contains("<summary>1 / 1 (100.0%)</summary>"));
        assert!(html.contains("<code>GET /projects/:id/issues/3</code>"));
        assert_eq!(
            html.matches("not covered</span>").count(),
            2,
            "row and total"
        );
        assert!(html.contains("<tfoot>"));
        assert!(html.contains(r#"<th scope="row">Total</th>"#));
        assert_eq!(html.matches(r#"<span class="muted">—</span>"#).count(), 6);
    }

    #[test]
    fn explain_page_form_and_verdicts() {
        let mut page = ExplainPage {
            nav: nav(),
            tokens: vec![
                TokenChoice {
                    id: "1".into(),
                    label: "ci-bot (fine-grained)".into(),
                },
                TokenChoice {
                    id: "2".into(),
                    label: "old (legacy)".into(),
                },
            ],
            token_id: "2".into(),
            method: "MUTATION".into(),
            path: "createIssue".into(),
            field: String::new(),
            project: "acme/anvil".into(),
            result: None,
        };
        let html = render(&page);
        assert_layout(&html);
        assert!(html.contains("<h1>Explain a decision</h1>"));
        assert!(html.contains(r#"<form method="get" action="/-/explain""#));
        assert!(!html.contains(r#"method="post" action="/-/explain""#));
        assert!(html.contains(r#"<label for="explain-token">Token</label>"#));
        assert!(html.contains(r#"<option value="2" selected>old (legacy)</option>"#));
        assert!(html.contains(r#"<option value="1">ci-bot (fine-grained)</option>"#));
        assert!(html.contains(r#"<optgroup label="GraphQL field">"#));
        assert!(html.contains(r#"<option value="MUTATION" selected>"#));
        assert!(html.contains(r#"<option value="GET">GET</option>"#));
        assert!(html.contains(r#"<label for="explain-path">Path or GraphQL field</label>"#));
        assert!(html.contains(r#"placeholder="/api/v4/projects/acme%2Fanvil/issues""#));
        assert!(
            html.contains(r#"<label for="explain-project">Project (for a GraphQL field)</label>"#)
        );
        assert!(html.contains(">Explain</button>"));
        assert!(!html.contains("Allowed") && !html.contains("Denied"));

        page.result = Some(ExplainView {
            allowed: false,
            decision: "missing_permission".into(),
            status: 403,
            endpoint: "MUTATION createIssue".into(),
            required: "issue:create".into(),
            missing: "issue:create".into(),
            steps: vec![
                ExplainStep {
                    check: "token".into(),
                    ok: true,
                    detail: "active, not expired".into(),
                },
                ExplainStep {
                    check: "permissions".into(),
                    ok: false,
                    detail: "lacks issue:create".into(),
                },
            ],
        });
        let html = render(&page);
        assert!(html.contains(r#"class="verdict verdict-denied">Denied</h2>"#));
        assert!(html.contains("<code>missing_permission</code>"));
        assert!(html.contains("<dd>403</dd>"));
        assert!(html.contains("Requires: <code>issue:create</code>"));
        assert!(html.contains("Missing: <code>issue:create</code>"));
        assert!(html.contains(r#"<span class="visually-hidden">passed:</span>"#));
        assert!(html.contains(r#"<span class="visually-hidden">failed:</span>"#));
        assert!(html.contains("<strong>permissions</strong>"));

        if let Some(r) = page.result.as_mut() {
            r.allowed = true;
            r.status = 200;
            r.missing.clear();
        }
        let html = render(&page);
        assert!(html.contains(r#"class="verdict verdict-allowed">Allowed</h2>"#));
        assert!(!html.contains("Missing:"));
    }

    #[test]
    fn grid_helpers() {
        let token = fine_token("t");
        let rows = token.granted_rows();
        assert_eq!(
            rows.iter().map(|r| r.resource.as_str()).collect::<Vec<_>>(),
            ["issue", "user"]
        );
        let issue = rows[0];
        assert_eq!(issue.cells[1].display(), "R");
        assert_eq!(issue.cells[0].display(), "–");
        assert_eq!(
            issue.cell_label(&issue.cells[3]),
            "issue delete: granted, not used in the last 30 days"
        );
        assert_eq!(rows[1].cells[0].display(), "");
        assert_eq!(legacy_token().last_used(), "Never");
        assert_eq!(token.last_used(), "2026-11-20");
    }
}
