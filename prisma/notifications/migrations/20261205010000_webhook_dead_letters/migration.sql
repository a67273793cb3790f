-- A webhook delivery that failed every attempt (NOTIFY_WEBHOOK_ATTEMPTS) is given up and marked
-- here: the dead letters of the webhook, for an operator to look into and redeliver.
ALTER TABLE "notifications" ADD COLUMN "dead_lettered_at" TIMESTAMPTZ(6);
CREATE INDEX "notifications_dead_lettered_idx" ON "notifications"("dead_lettered_at") WHERE "dead_lettered_at" IS NOT NULL;
