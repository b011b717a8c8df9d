-- Rows brought in by `tollgate import`: which Tollgate row each source row became, so a second run updates
-- those rows instead of adding new ones. `source` names the system (e.g. 'new-api'), `kind` its table.
CREATE TABLE import_ids (
    source    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);
