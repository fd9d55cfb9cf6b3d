DROP TABLE token_events;
DROP TABLE token_usage;
DROP TABLE web_sessions;
