-- Whose notification it is: GET /notifications shows a customer their own only (404 otherwise).
-- NULL for notifications recorded before this column: admins only.
ALTER TABLE "notifications" ADD COLUMN "customer_id" TEXT;
