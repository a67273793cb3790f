-- The catalog's price: inventory owns it and prices an order's lines when it reserves them (the
-- reservation reads price and stock under the same row lock), so the amount charged is the price
-- in force at that moment. A product without a price cannot be ordered (NOT_PRICED).
ALTER TABLE "products" ADD COLUMN "price_cents" BIGINT, ADD COLUMN "currency" CHAR(3);
ALTER TABLE "products" ADD CONSTRAINT "products_price_check"
    CHECK (("price_cents" IS NULL) = ("currency" IS NULL) AND ("price_cents" IS NULL OR "price_cents" > 0));

-- What each reserved line was priced at (NULL for reservations made before prices existed).
ALTER TABLE "reservation_lines" ADD COLUMN "unit_price_cents" BIGINT;
