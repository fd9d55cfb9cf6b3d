DROP TABLE protected_branches;
