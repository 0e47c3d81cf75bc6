-- An operator address belongs to one organisation. When an admin adds an
-- address that another organisation already uses, the answer and the list of
-- operators look as they would for a new invitation (nothing tells one tenant
-- who belongs to another); the address's owner is mailed what happened. Such
-- an entry can never sign in; removing it forgets it.
CREATE TABLE unclaimable_invitations (
    id              TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    invited_at      BIGINT,
    removed_at      BIGINT
);
CREATE INDEX unclaimable_invitations_by_organisation ON unclaimable_invitations (organisation_id, email);
