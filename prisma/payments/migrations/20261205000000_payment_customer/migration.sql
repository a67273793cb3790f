-- Whose charge it is: GET /payments shows a customer their own orders' payments only (404 otherwise).
-- NULL for payments made before this column and for orders voided before any charge: admins only.
ALTER TABLE "payments" ADD COLUMN "customer_id" TEXT;
