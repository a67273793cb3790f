-- Every admin action on this service's data (stock set or adjusted, a dead letter of its
-- consumer replayed): who, what, when, and the state before and after. Written in the same
-- transaction as the change it records, so a change without its audit row cannot commit.
CREATE TABLE "admin_audit" (
  "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "actor" TEXT NOT NULL,
  "action" TEXT NOT NULL,
  "subject" TEXT NOT NULL,
  "before" JSONB,
  "after" JSONB,
  "request_id" TEXT
);
CREATE INDEX "admin_audit_subject_at_idx" ON "admin_audit"("subject", "at");
