//! The coverage report: every declared endpoint of every surface, whether fine-grained tokens are
//! accepted there, and summaries per surface and per resource. It is computed from the registry,
//! the same data the gate enforces, so the report cannot drift from enforcement.

use crate::registry::{Endpoint, EndpointRegistry, TargetSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// One endpoint in the report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageRow {
    pub surface: &'static str,
    pub method: &'static str,
    /// Route pattern or GraphQL field.
    pub path: String,
    /// The primary resource; `permissions` lists all of a conjunction.
    pub resource: &'static str,
    pub action: &'static str,
    pub permissions: Vec<String>,
    pub legacy_scopes: Vec<String>,
    pub min_role: i32,
    pub admin_only: bool,
    /// What the endpoint acts on: `project`, `group` or `none`, and the path parameter naming it.
    pub target: &'static str,
    pub target_param: Option<&'static str>,
    pub covered: bool,
    /// The credential the endpoint takes: `principal` (users' tokens and sessions, judged by
    /// `decide()`), or `runner_token`, `job_token`, `trigger_token` (checked by the endpoint
    /// against the runner, job or trigger it names; outside the tallies).
    pub credential: &'static str,
    pub summary: &'static str,
    /// The declared role is needed on public and internal targets too.
    pub members_only: bool,
    /// Cases that need more than `min_role`, as declared.
    pub raises: Vec<RaiseRow>,
}

/// One declared role raise: when it applies and what it needs (`min_role` 0 with `admin_only`,
/// or with `protected_branch_level`, when the level is not a fixed role).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RaiseRow {
    pub when: &'static str,
    pub min_role: Option<i32>,
    pub admin_only: bool,
    pub protected_branch_level: bool,
}

impl RaiseRow {
    pub fn of(raise: &tinforge_authz::RoleRaise) -> Self {
        use tinforge_authz::RaiseTo;
        RaiseRow {
            when: raise.when,
            min_role: raise.access_level(),
            admin_only: raise.to == RaiseTo::Admin,
            protected_branch_level: raise.to == RaiseTo::ProtectedBranchLevel,
        }
    }
}

/// Covered out of total, with a percentage.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Tally {
    pub covered: usize,
    pub total: usize,
    pub percent: f64,
}

impl Tally {
    fn add(&mut self, covered: bool) {
        self.total += 1;
        if covered {
            self.covered += 1;
        }
        self.percent = (self.covered as f64 * 1000.0 / self.total as f64).round() / 10.0;
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageReport {
    pub endpoints: Vec<CoverageRow>,
    pub total: Tally,
    pub by_surface: BTreeMap<&'static str, Tally>,
    pub by_resource: BTreeMap<&'static str, BTreeMap<&'static str, Tally>>,
}

impl CoverageReport {
    pub fn of(registry: &EndpointRegistry) -> CoverageReport {
        let endpoints: Vec<CoverageRow> = registry.endpoints().iter().map(row).collect();
        let mut total = Tally::default();
        let mut by_surface: BTreeMap<&'static str, Tally> = BTreeMap::new();
        let mut by_resource: BTreeMap<&'static str, BTreeMap<&'static str, Tally>> =
            BTreeMap::new();
        for r in endpoints.iter().filter(|r| r.credential == "principal") {
            total.add(r.covered);
            by_surface.entry(r.surface).or_default().add(r.covered);
            by_resource
                .entry(r.resource)
                .or_default()
                .entry(r.surface)
                .or_default()
                .add(r.covered);
        }
        CoverageReport {
            endpoints,
            total,
            by_surface,
            by_resource,
        }
    }

    /// An aligned plain-text table, then the summaries.
    pub fn to_table(&self) -> String {
        let header = [
            "SURFACE",
            "METHOD",
            "PATH",
            "PERMISSIONS",
            "LEGACY SCOPES",
            "COVERED",
        ];
        let rows: Vec<[String; 6]> = self
            .endpoints
            .iter()
            .map(|r| {
                [
                    r.surface.to_string(),
                    r.method.to_string(),
                    r.path.clone(),
                    r.permissions.join(","),
                    r.legacy_scopes.join(","),
                    yes_no(r.covered).to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: [&str; 6]| {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.trim_end().to_string() + "\n"
        };
        let mut out = line(header);
        for row in &rows {
            out.push_str(&line(row.each_ref().map(String::as_str)));
        }
        out.push('\n');
        for (surface, t) in &self.by_surface {
            out.push_str(&format!(
                "{surface}: {}/{} covered ({}%)\n",
                t.covered, t.total, t.percent
            ));
        }
        out.push_str(&format!(
            "total: {}/{} covered ({}%)\n",
            self.total.covered, self.total.total, self.total.percent
        ));
        out
    }

    /// A Markdown report: the per-resource summary (REST against GraphQL), then every endpoint.
    pub fn to_markdown(&self) -> String {
        let surfaces: Vec<&str> = self.by_surface.keys().copied().collect();
        let mut out = String::from("# Fine-grained token coverage\n\n| resource |");
        for s in &surfaces {
            out.push_str(&format!(" {s} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(surfaces.len()));
        out.push('\n');
        for (resource, per_surface) in &self.by_resource {
            out.push_str(&format!("| `{resource}` |"));
            for s in &surfaces {
                match per_surface.get(s) {
                    Some(t) => {
                        out.push_str(&format!(" {}/{} ({}%) |", t.covered, t.total, t.percent))
                    }
                    None => out.push_str(" — |"),
                }
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "| **total** | {} |\n\n",
            surfaces
                .iter()
                .map(|s| {
                    let t = &self.by_surface[s];
                    format!("{}/{} ({}%)", t.covered, t.total, t.percent)
                })
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        out.push_str("| surface | method | path | permissions | legacy scopes | covered |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for r in &self.endpoints {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | {} |\n",
                r.surface,
                r.method,
                r.path,
                r.permissions.join(", "),
                r.legacy_scopes.join(", "),
                yes_no(r.covered)
            ));
        }
        out
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn row(e: &Endpoint) -> CoverageRow {
    let req = &e.requirement;
    let first = req.permissions[0];
    CoverageRow {
        surface: e.surface.as_str(),
        method: e.method,
        path: e.path.clone(),
        resource: first.resource.as_str(),
        action: first.action.as_str(),
        permissions: req.permissions.iter().map(|p| p.to_string()).collect(),
        legacy_scopes: req
            .satisfying_scopes()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        min_role: req.min_role.access_level(),
        admin_only: req.admin,
        target: match e.target {
            TargetSpec::Group(_) => "group",
            TargetSpec::None => "none",
            TargetSpec::List => "list",
            TargetSpec::Project(_) | TargetSpec::Image(_) | TargetSpec::ContainerRepository(_) => {
                "project"
            }
            TargetSpec::Resolved(_) => "resolved",
        },
        target_param: match e.target {
            TargetSpec::Resolved(p) => Some(p),
            spec => spec.param(),
        },
        covered: e.is_covered(),
        credential: req.authenticates.as_str(),
        summary: e.summary,
        members_only: req.members_only,
        raises: req.raises.iter().map(RaiseRow::of).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Surface;
    use tinforge_authz::require;

    fn endpoint(
        surface: Surface,
        method: &'static str,
        path: &str,
        req: tinforge_authz::Requirement,
    ) -> Endpoint {
        Endpoint {
            surface,
            method,
            path: path.into(),
            requirement: req,
            target: TargetSpec::None,
            summary: "",
            response: None,
        }
    }

    #[test]
    fn summaries_count_what_the_registry_declares() {
        let mut reg = EndpointRegistry::default();
        reg.add(endpoint(Surface::Rest, "GET", "/a", require!(issue:read)))
            .unwrap();
        reg.add(endpoint(
            Surface::Rest,
            "POST",
            "/a",
            require!(issue:create),
        ))
        .unwrap();
        reg.add(endpoint(
            Surface::Graphql,
            "query",
            "Project.issues",
            require!(issue:read),
        ))
        .unwrap();
        assert!(reg.mark_not_covered(&["POST /a".into()]).is_empty());
        let report = CoverageReport::of(&reg);
        assert_eq!(
            report.total,
            Tally {
                covered: 2,
                total: 3,
                percent: 66.7
            }
        );
        assert_eq!(report.by_surface["rest"].covered, 1);
        assert_eq!(report.by_resource["issue"]["graphql"].total, 1);
        let row = &report.endpoints[0];
        assert_eq!(row.legacy_scopes, vec!["api", "read_api"]);
        assert!(report.to_table().contains("rest: 1/2 covered (50%)"));
        let md = report.to_markdown();
        assert!(md.contains("| `issue` | 1/1 (100%) | 1/2 (50%) |"), "{md}");
    }
}
