-- Labels on merge requests (the project's labels, as issues use them).
CREATE TABLE merge_request_labels (
    merge_request_id BIGINT NOT NULL REFERENCES merge_requests (id) ON DELETE CASCADE,
    label_id BIGINT NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (merge_request_id, label_id)
);
CREATE INDEX merge_request_labels_label ON merge_request_labels (label_id);
