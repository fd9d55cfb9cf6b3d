//! The small vocabularies of CI: job and pipeline statuses, `when:`, pipeline sources and failure reasons,
//! each with GitLab's spelling.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares an enum whose variants have fixed GitLab names, with `as_str`, `FromStr`, `Display` and `ALL`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// GitLab's name for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Implements `FromStr` for a `named_enum!` type, failing on unknown names.
macro_rules! strict_from_str {
    ($name:ident, $what:literal) => {
        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| format!("unknown {} '{}'", $what, text))
            }
        }
    };
}

named_enum! {
    /// The status of one job.
    JobStatus {
        Created => "created",
        Pending => "pending",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceling => "canceling",
        Canceled => "canceled",
        Skipped => "skipped",
        Manual => "manual",
    }
}
strict_from_str!(JobStatus, "job status");

impl JobStatus {
    /// The job will not change any more on its own: success, failed, canceled or skipped.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped
        )
    }

    /// The job is queued or on a runner: pending, running or canceling.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobStatus::Pending | JobStatus::Running | JobStatus::Canceling
        )
    }
}

named_enum! {
    /// The composite status of a pipeline.
    PipelineStatus {
        Created => "created",
        Pending => "pending",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceling => "canceling",
        Canceled => "canceled",
        Skipped => "skipped",
        Manual => "manual",
    }
}
strict_from_str!(PipelineStatus, "pipeline status");

impl PipelineStatus {
    /// The pipeline will not change any more on its own.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            PipelineStatus::Success
                | PipelineStatus::Failed
                | PipelineStatus::Canceled
                | PipelineStatus::Skipped
        )
    }
}

named_enum! {
    /// When a job (or a step, or an artifact upload) runs relative to what came before it.
    When {
        OnSuccess => "on_success",
        OnFailure => "on_failure",
        Always => "always",
        Manual => "manual",
        Never => "never",
    }
}
strict_from_str!(When, "when value");

named_enum! {
    /// What started a pipeline (`CI_PIPELINE_SOURCE`).
    PipelineSource {
        Push => "push",
        Web => "web",
        Api => "api",
        Trigger => "trigger",
        MergeRequestEvent => "merge_request_event",
        Schedule => "schedule",
        Pipeline => "pipeline",
    }
}
strict_from_str!(PipelineSource, "pipeline source");

named_enum! {
    /// Why a job failed, as runners report it.
    FailureReason {
        ScriptFailure => "script_failure",
        RunnerSystemFailure => "runner_system_failure",
        JobExecutionTimeout => "job_execution_timeout",
        UnknownFailure => "unknown_failure",
        StuckOrTimeoutFailure => "stuck_or_timeout_failure",
        ApiFailure => "api_failure",
    }
}

impl FromStr for FailureReason {
    type Err = std::convert::Infallible;
    /// Never fails: a reason this forge does not know is `unknown_failure`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(FailureReason::ALL
            .iter()
            .copied()
            .find(|reason| reason.as_str() == text)
            .unwrap_or(FailureReason::UnknownFailure))
    }
}

impl FailureReason {
    /// The reasons this server accepts, for the payload's `features.failure_reasons`.
    pub fn accepted() -> Vec<&'static str> {
        FailureReason::ALL.iter().map(|r| r.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(*status));
        }
        for status in PipelineStatus::ALL {
            assert_eq!(status.as_str().parse::<PipelineStatus>(), Ok(*status));
        }
        for when in When::ALL {
            assert_eq!(when.as_str().parse::<When>(), Ok(*when));
        }
        for source in PipelineSource::ALL {
            assert_eq!(source.as_str().parse::<PipelineSource>(), Ok(*source));
        }
        assert_eq!(
            "merge_request_event".parse::<PipelineSource>(),
            Ok(PipelineSource::MergeRequestEvent)
        );
        assert!("Running".parse::<JobStatus>().is_err());
        assert!("delayed".parse::<When>().is_err());
    }

    #[test]
    fn unknown_failure_reasons_are_not_errors() {
        assert_eq!(
            "script_failure".parse::<FailureReason>(),
            Ok(FailureReason::ScriptFailure)
        );
        assert_eq!(
            "image_pull_failure".parse::<FailureReason>(),
            Ok(FailureReason::UnknownFailure)
        );
        assert_eq!(
            "".parse::<FailureReason>(),
            Ok(FailureReason::UnknownFailure)
        );
    }

    #[test]
    fn finished_and_active_partition_the_runtime_statuses() {
        use JobStatus::*;
        for s in [Success, Failed, Canceled, Skipped] {
            assert!(s.is_finished() && !s.is_active());
        }
        for s in [Pending, Running, Canceling] {
            assert!(s.is_active() && !s.is_finished());
        }
        for s in [Created, Manual] {
            assert!(!s.is_active() && !s.is_finished());
        }
    }

    #[test]
    fn serde_uses_gitlab_names() {
        assert_eq!(
            serde_json::to_string(&When::OnSuccess).ok().as_deref(),
            Some("\"on_success\"")
        );
        assert_eq!(
            serde_json::from_str::<JobStatus>("\"canceling\"").ok(),
            Some(JobStatus::Canceling)
        );
    }
}
