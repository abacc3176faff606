-- Failed authentications per subject: an account ('account:bim/alice') or a
-- source address ('address:203.0.113.7'). Several servers sharing a store
-- share these rows, so the limits hold for all of them together.
--   tat: the password-login budget as the theoretical arrival time of the
--        generic cell rate algorithm; the budget is whole when it has passed.
--   window_start, recorded: the current audit minute and the failures
--        recorded one by one in it.
--   pending, pending_since: failures counted but not yet in the audit trail.
CREATE TABLE auth_failures (
    subject {{text}} PRIMARY KEY,
    tat {{ts}},
    window_start {{ts}},
    recorded {{bigint}} NOT NULL DEFAULT 0,
    pending {{bigint}} NOT NULL DEFAULT 0,
    pending_since {{ts}}
);
CREATE INDEX auth_failures_window ON auth_failures (window_start);
