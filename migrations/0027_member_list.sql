-- How many members each organization has, and its members in the order they joined.
-- GET /organization/{id}/members lists at most 1,000 of them (verified first, each
-- group the earliest to join first) and says how many there are: it read, counted and
-- sorted every member to do so. Anyone owning a domain that delivers every address to
-- one mailbox can grow its organization by ten members a minute per network (0024), so
-- each list from such an organization read all of them in D1 (a read replica, or the
-- primary), at the signed-in pace (300 a minute per network). With the count kept here, as 0019 keeps
-- node_count, and an index in join order, a list reads the members it lists (and the
-- unverified ones among them it skips), however large the organization.
--
-- Kept by the triggers below on every membership added, removed or moved to another
-- organization (sign-up, a verification that joins a colleague's organization, a
-- removal, an organization's deletion, the sweep, the operator's erasure): one more
-- row written each. A later migration that rebuilds org_members must create them
-- again and recount (README). Retention: a column of an existing row; the index's
-- rows are the memberships'. Columns with a default, triggers and an index: the code
-- before this release runs on them unchanged, and its writes keep the count too.
ALTER TABLE organizations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations
   SET member_count = (SELECT count(*) FROM org_members m WHERE m.org_id = organizations.id);
CREATE TRIGGER org_members_counted_in AFTER INSERT ON org_members
BEGIN
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER org_members_counted_out AFTER DELETE ON org_members
BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
END;
CREATE TRIGGER org_members_moved AFTER UPDATE OF org_id ON org_members
WHEN NEW.org_id IS NOT OLD.org_id
BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
END;
CREATE INDEX org_members_by_join ON org_members (org_id, created_at_ms, user_id);
