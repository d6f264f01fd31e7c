-- The sandbox's demo database: a small online shop with enough rows that plans, locks and
-- replication lag look like they would on a real system, but small enough to load in a second or two.
-- Foreign keys and the order items' primary key are added after the data: one validating join each instead of a trigger per row.
-- The loader runs the steps below (split at the "-- step:" lines) in one transaction, so a crash while
-- loading leaves no half-built shop behind. setseed() makes the data the same on every machine.

-- step: Creating the shop schema
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'Flightdeck sandbox demo: an online shop';

CREATE TYPE shop.order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

CREATE TABLE shop.customers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email            text NOT NULL,
  full_name        text NOT NULL,
  country          char(2) NOT NULL,
  marketing_opt_in boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT customers_email_key UNIQUE (email)
);

CREATE TABLE shop.products (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  category    text NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents > 0),
  stock       integer NOT NULL CHECK (stock >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shop.orders (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  status      shop.order_status NOT NULL DEFAULT 'pending',
  total_cents integer NOT NULL DEFAULT 0 CHECK (total_cents >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shop.order_items (
  order_id         bigint NOT NULL,
  product_id       bigint NOT NULL,
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0)
);

CREATE TABLE shop.payments (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id     bigint NOT NULL,
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  method       text NOT NULL CHECK (method IN ('card', 'paypal', 'bank_transfer', 'gift_card')),
  status       text NOT NULL DEFAULT 'captured' CHECK (status IN ('authorized', 'captured', 'refunded', 'failed')),
  paid_at      timestamptz NOT NULL DEFAULT now()
);

-- step: Loading customers and products
SELECT setseed(0.42);

INSERT INTO shop.customers (email, full_name, country, marketing_opt_in, created_at)
SELECT format('%s.%s%s@example.com', lower(f), lower(l), i),
       f || ' ' || l,
       (ARRAY['US', 'GB', 'DE', 'FR', 'NL', 'SE', 'ES', 'IT', 'CA', 'AU', 'JP', 'BR'])[1 + (i * 7) % 12],
       random() < 0.35,
       now() - interval '730 days' * random()
FROM generate_series(1, 20000) AS i,
     LATERAL (SELECT (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Dennis',
                            'Radia', 'Niklaus', 'Katherine', 'Linus', 'Sophie', 'Tim', 'Hedy', 'John', 'Annie', 'Bjarne'])[1 + i % 20] AS f,
                     (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Ritchie',
                            'Perlman', 'Wirth', 'Johnson', 'Torvalds', 'Wilson', 'Berners-Lee', 'Lamarr', 'Backus', 'Easley', 'Stroustrup'])[1 + (i / 20) % 20] AS l) AS n;

INSERT INTO shop.products (sku, name, category, price_cents, stock, created_at)
SELECT format('SKU-%s-%s', upper(left(c, 3)), lpad(i::text, 5, '0')),
       initcap(a) || ' ' || lower(c) || ' #' || i,
       c,
       199 + (random() * 24800)::int,
       (random() * 500)::int,
       now() - interval '1000 days' * random()
FROM generate_series(1, 2000) AS i,
     LATERAL (SELECT (ARRAY['books', 'games', 'kitchen', 'garden', 'toys', 'audio', 'cameras', 'outdoor', 'office', 'tools'])[1 + i % 10] AS c,
                     (ARRAY['classic', 'compact', 'deluxe', 'eco', 'pro', 'smart', 'travel', 'vintage'])[1 + (i / 10) % 8] AS a) AS n;

-- step: Loading orders
INSERT INTO shop.orders (customer_id, status, created_at, updated_at)
SELECT 1 + (random() * 19999)::bigint,
       CASE WHEN r < 0.03 THEN 'pending' WHEN r < 0.08 THEN 'paid' WHEN r < 0.15 THEN 'shipped'
            WHEN r < 0.92 THEN 'delivered' WHEN r < 0.97 THEN 'cancelled' ELSE 'refunded' END::shop.order_status,
       t, t + interval '3 days' * random()
FROM (SELECT random() AS r, now() - interval '720 days' * random() AS t FROM generate_series(1, 50000)) AS g
ORDER BY t;

-- step: Loading order items
INSERT INTO shop.order_items (order_id, product_id, quantity, unit_price_cents)
SELECT o.id, p.id, 1 + (random() * 3)::int, p.price_cents
FROM shop.orders AS o
-- 1 to 4 distinct products per order: k * 729 differs modulo 2000 for k = 1..4.
CROSS JOIN LATERAL generate_series(1, 1 + (o.id % 4)::int) AS k
JOIN shop.products AS p ON p.id = 1 + (o.id * 7919 + k * 729) % 2000;

UPDATE shop.orders AS o
SET total_cents = s.total
FROM (SELECT order_id, sum(quantity * unit_price_cents) AS total FROM shop.order_items GROUP BY order_id) AS s
WHERE s.order_id = o.id;

-- step: Loading payments
INSERT INTO shop.payments (order_id, amount_cents, method, status, paid_at)
SELECT o.id, o.total_cents,
       (ARRAY['card', 'card', 'card', 'paypal', 'bank_transfer', 'gift_card'])[1 + (o.id % 6)::int],
       CASE o.status WHEN 'refunded' THEN 'refunded' ELSE 'captured' END,
       o.created_at + interval '10 minutes' * random()
FROM shop.orders AS o
WHERE o.status NOT IN ('pending', 'cancelled');

-- step: Building indexes and foreign keys
ALTER TABLE shop.order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (order_id, product_id);
ALTER TABLE shop.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES shop.customers (id);
ALTER TABLE shop.order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES shop.orders (id) ON DELETE CASCADE;
ALTER TABLE shop.order_items ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES shop.products (id);
ALTER TABLE shop.payments ADD CONSTRAINT payments_order_id_fkey FOREIGN KEY (order_id) REFERENCES shop.orders (id);
CREATE INDEX orders_customer_id_idx ON shop.orders (customer_id);
CREATE INDEX orders_status_created_at_idx ON shop.orders (status, created_at);
CREATE INDEX orders_open_idx ON shop.orders (created_at) WHERE status IN ('pending', 'paid');
CREATE INDEX order_items_product_id_idx ON shop.order_items (product_id);
CREATE INDEX payments_order_id_idx ON shop.payments (order_id);
CREATE INDEX products_category_price_idx ON shop.products (category, price_cents);
-- Left out on purpose: an index on customers (country). The demo's slow report filters on it, so
-- the cockpit has a sequential scan to find.

-- step: Creating functions and views
CREATE FUNCTION shop.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER orders_touch_updated_at BEFORE UPDATE ON shop.orders
  FOR EACH ROW EXECUTE FUNCTION shop.touch_updated_at();

-- Places an order for a customer from [{"product_id": 1, "quantity": 2}, ...] at current prices and
-- takes the items out of stock; fails (and changes nothing) when a product is short.
CREATE FUNCTION shop.place_order(p_customer_id bigint, p_items jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_order_id bigint;
  v_item record;
  v_price integer;
BEGIN
  INSERT INTO shop.orders (customer_id) VALUES (p_customer_id) RETURNING id INTO v_order_id;
  FOR v_item IN SELECT (e ->> 'product_id')::bigint AS product_id, sum((e ->> 'quantity')::int)::int AS quantity
                FROM jsonb_array_elements(p_items) AS e GROUP BY 1 ORDER BY 1
  LOOP
    UPDATE shop.products SET stock = stock - v_item.quantity
    WHERE id = v_item.product_id AND stock >= v_item.quantity
    RETURNING price_cents INTO v_price;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'product % is out of stock', v_item.product_id USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO shop.order_items (order_id, product_id, quantity, unit_price_cents)
    VALUES (v_order_id, v_item.product_id, v_item.quantity, v_price);
  END LOOP;
  UPDATE shop.orders SET total_cents = (SELECT sum(quantity * unit_price_cents) FROM shop.order_items WHERE order_id = v_order_id)
  WHERE id = v_order_id;
  RETURN v_order_id;
END
$$;

CREATE VIEW shop.daily_revenue AS
SELECT date_trunc('day', o.created_at)::date AS day,
       count(*) AS orders,
       sum(o.total_cents) / 100.0 AS revenue
FROM shop.orders AS o
WHERE o.status IN ('paid', 'shipped', 'delivered')
GROUP BY 1;

-- step: Granting the demo application its rights
GRANT USAGE ON SCHEMA shop TO shop_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA shop TO shop_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA shop TO shop_app;

ANALYZE shop.customers;
ANALYZE shop.products;
ANALYZE shop.orders;
ANALYZE shop.order_items;
ANALYZE shop.payments;
