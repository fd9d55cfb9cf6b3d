DROP TABLE merge_request_approvals;
DROP TABLE merge_request_iid_counters;
DROP TABLE merge_requests;
