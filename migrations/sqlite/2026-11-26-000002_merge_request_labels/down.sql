DROP TABLE merge_request_labels;
