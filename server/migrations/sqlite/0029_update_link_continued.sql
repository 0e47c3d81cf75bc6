-- When the end-user first pressed Continue on a session's page (an update
-- link's first screen asks before contacting the utility, so a mail scanner
-- that opens the link changes nothing). The refresh funnel counts links
-- opened and continued apart.
ALTER TABLE connect_sessions ADD COLUMN first_continued_at BIGINT;
