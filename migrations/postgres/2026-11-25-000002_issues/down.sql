DROP TABLE notes;
DROP TABLE issue_labels;
DROP TABLE labels;
DROP TABLE issue_assignees;
DROP TABLE issues;
DROP TABLE issue_iid_counters;
